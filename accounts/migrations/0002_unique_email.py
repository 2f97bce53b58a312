"""Email addresses unique, ignoring case (empty ones aside: accounts made by
an administrator may have none).

An existing database may hold the same address on several accounts. The
account that logged in most recently (then the oldest) keeps it; the others
lose it, and are listed, so the operator can give them new addresses. No
account is deleted and nobody is locked out: they log in by username."""

from django.db import migrations
from django.db.models import F
from django.db.models.functions import Lower

INDEX = "accounts_user_email_unique_ci"


def keep_one_owner_per_address(apps, schema_editor):
    User = apps.get_model("auth", "User")
    owners: dict[str, int] = {}
    cleared = []
    users = User.objects.exclude(email="").annotate(address=Lower("email"))
    for user in users.order_by("address", F("last_login").desc(nulls_last=True), "date_joined", "pk"):
        if user.address in owners:
            cleared.append(user)
        else:
            owners[user.address] = user.pk
    for user in cleared:
        print(f"\n  {user.username}: email {user.email} is also another account's; it was removed from this one.")
        User.objects.filter(pk=user.pk).update(email="")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_invites"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(keep_one_owner_per_address, migrations.RunPython.noop),
        # auth.User is Django's model: the index is plain SQL (the same on
        # Postgres and SQLite: an expression index with a WHERE clause).
        migrations.RunSQL(
            f"CREATE UNIQUE INDEX {INDEX} ON auth_user (LOWER(email)) WHERE email <> ''",
            f"DROP INDEX {INDEX}",
        ),
    ]
