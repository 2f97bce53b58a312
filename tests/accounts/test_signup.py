"""Sign-up: the first account is the administrator, later ones need an invite
(unless SIGNUP=open), SIGNUP=closed is closed, invites are single-use,
expiring and stored hashed, and the form never tells which account exists."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import signup
from accounts.models import Invite
from transcripts.tokens import hash_token

User = get_user_model()
PASSWORD = "a long and unusual passphrase"


def sign_up(client: Client, username: str, email: str, path: str = "/accounts/signup/", password: str = PASSWORD):
    return client.post(
        path, {"username": username, "email": email, "password1": password, "password2": password}, follow=True
    )


def invite_path(token: str) -> str:
    return reverse("signup_invite", args=[token])


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_user("root", "root@example.com", "x", is_staff=True, is_superuser=True)


@pytest.mark.django_db
def test_the_first_account_becomes_the_administrator(client):
    response = sign_up(client, "first", "first@example.com")
    assert response.redirect_chain[-1][0] == reverse("transcripts:upload_page")
    first = User.objects.get(username="first")
    assert first.is_superuser and first.is_staff
    assert "administrator" in response.content.decode()


@pytest.mark.django_db
def test_once_an_account_exists_sign_up_needs_an_invite_by_default(client, admin):
    page = client.get("/accounts/signup/").content.decode()
    assert "by invitation" in page and 'name="password1"' not in page
    response = sign_up(client, "stranger", "stranger@example.com")
    assert not User.objects.filter(username="stranger").exists()
    assert "by invitation" in response.content.decode()


@pytest.mark.django_db
def test_open_sign_up_lets_anyone_in_but_not_as_administrator(client, admin, settings):
    settings.SIGNUP = "open"
    sign_up(client, "second", "second@example.com")
    second = User.objects.get(username="second")
    assert not second.is_superuser and not second.is_staff


@pytest.mark.django_db
@pytest.mark.parametrize("accounts", [0, 1])
def test_closed_sign_up_is_closed_even_for_the_first_account(client, settings, accounts, django_user_model):
    settings.SIGNUP = "closed"
    if accounts:
        django_user_model.objects.create_user("root", "root@example.com", "x")
    response = sign_up(client, "nobody", "nobody@example.com")
    assert "closed" in response.content.decode()
    assert User.objects.count() == accounts


@pytest.mark.django_db
def test_invite_sign_up_with_no_account_yet_lets_the_administrator_in(client, settings):
    settings.SIGNUP = "invite"
    sign_up(client, "boss", "boss@example.com")
    assert User.objects.get(username="boss").is_superuser


@pytest.mark.django_db
def test_an_administrator_creates_an_invite_shown_once_and_stored_hashed(client, admin):
    client.force_login(admin)
    response = client.post(reverse("create_invite"), {"note": "Dana from sales"}, follow=True)
    page = response.content.decode()
    token = re.search(r"/accounts/signup/([A-Za-z0-9_-]{40,})/", page).group(1)
    invite = Invite.objects.get()
    assert invite.token_hash == hash_token(token) and invite.note == "Dana from sales"
    assert token not in str(list(Invite.objects.values()))
    assert invite.expires_at > timezone.now() + timedelta(days=6)
    assert token not in client.get(reverse("account")).content.decode()  # shown once


@pytest.mark.django_db
def test_an_invite_works_once(admin):
    invite, token = signup.create_invite(admin)
    dana = Client()
    response = sign_up(dana, "dana", "dana@example.com", invite_path(token))
    assert response.redirect_chain[-1][0] == reverse("transcripts:upload_page")
    invite.refresh_from_db()
    assert invite.used_by == User.objects.get(username="dana") and not invite.used_by.is_staff
    again = sign_up(Client(), "eve", "eve@example.com", invite_path(token))
    assert again.status_code == 404 and "not valid" in again.content.decode()
    assert not User.objects.filter(username="eve").exists()


@pytest.mark.django_db
def test_expired_withdrawn_and_made_up_invites_open_nothing(client, admin):
    expired, expired_token = signup.create_invite(admin, expires_in=timedelta(seconds=1))
    Invite.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    withdrawn, withdrawn_token = signup.create_invite(admin)
    client.force_login(admin)
    client.post(reverse("revoke_invite", args=[withdrawn.pk]))
    client.logout()
    for token in (expired_token, withdrawn_token, "made-up-token", "x" * 500):
        response = sign_up(client, "mallory", "mallory@example.com", invite_path(token))
        assert response.status_code == 404
    assert not User.objects.filter(username="mallory").exists()


@pytest.mark.django_db
def test_two_sign_ups_cannot_share_one_invite(admin):
    invite, _ = signup.create_invite(admin)
    first = User.objects.create_user("one", "one@example.com", "x")
    second = User.objects.create_user("two", "two@example.com", "x")
    assert invite.claim(first) is True
    assert invite.claim(second) is False


@pytest.mark.django_db
def test_only_administrators_create_or_withdraw_invites(client, admin, user):
    invite, _ = signup.create_invite(admin)
    client.force_login(user)
    assert client.post(reverse("create_invite"), {"note": "me"}).status_code == 404
    assert client.post(reverse("revoke_invite", args=[invite.pk])).status_code == 404
    assert Invite.objects.count() == 1 and Invite.objects.get().revoked_at is None
    assert "Create an invite link" not in client.get(reverse("account")).content.decode()


@pytest.mark.django_db
def test_a_taken_username_and_a_taken_address_get_the_same_answer(client, user, settings):
    settings.SIGNUP = "open"
    by_name = sign_up(client, "alice", "someone-new@example.com").content.decode()
    by_name_case = sign_up(client, "ALICE", "someone-else@example.com").content.decode()
    by_email = sign_up(client, "someone-new", "Alice@Example.com").content.decode()
    free = Client()
    assert sign_up(free, "frank", "frank@example.com").redirect_chain

    def errors(page: str) -> list[str]:
        return re.findall(r'<ul class="errorlist[^"]*">(.*?)</ul>', page, re.S)

    assert errors(by_name) == errors(by_email) == errors(by_name_case) != []
    for page in (by_name, by_email):
        assert "already exists" not in page and "already registered" not in page
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1


@pytest.mark.django_db
def test_email_is_unique_ignoring_case_in_the_database(user):
    with pytest.raises(IntegrityError):
        User.objects.create_user("alice2", "ALICE@example.COM", "x")


@pytest.mark.django_db
def test_accounts_without_an_address_may_coexist(django_user_model):
    django_user_model.objects.create_user("a", "", "x")
    django_user_model.objects.create_user("b", "", "x")
    assert User.objects.filter(email="").count() == 2


@pytest.mark.django_db
def test_the_migration_keeps_one_owner_of_each_duplicated_address(django_user_model):
    """Run the data step as on a database from before the unique index."""
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    migration = import_module("accounts.migrations.0002_unique_email")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {migration.INDEX}")
    old = django_user_model.objects.create_user("old", "Pat@Example.com", "x")
    recent = django_user_model.objects.create_user("recent", "pat@example.com", "x", last_login=timezone.now())
    never = django_user_model.objects.create_user("never", "PAT@example.com", "x")
    other = django_user_model.objects.create_user("other", "other@example.com", "x")
    migration.keep_one_owner_per_address(apps, None)
    with connection.cursor() as cursor:
        cursor.execute(migration.Migration.operations[1].sql)
    emails = {user.username: user.email for user in User.objects.all()}
    assert emails == {"old": "", "recent": "pat@example.com", "never": "", "other": "other@example.com"}
    assert {old.pk, recent.pk, never.pk, other.pk} == set(User.objects.values_list("pk", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("policy", "linked"),
    [("open", True), ("invite", False), ("closed", False)],
)
def test_sign_up_links_show_only_when_anyone_may_sign_up(client, settings, admin, policy, linked):
    settings.SIGNUP = policy
    signup_href = f'href="{reverse("signup")}"'
    for path in ("/", reverse("login")):
        page = client.get(path).content.decode()
        assert (signup_href in page) is linked, (path, policy)


@pytest.mark.django_db
def test_sign_up_link_shows_on_a_fresh_server_even_when_invite_only(client, settings):
    settings.SIGNUP = "invite"  # the first account may still sign up: it becomes the administrator
    assert f'href="{reverse("signup")}"' in client.get("/").content.decode()
