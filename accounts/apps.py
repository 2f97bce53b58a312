from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Who may have an account and how they get one: the sign-up policy,
    invites, password rules, login throttling and the users' admin."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
