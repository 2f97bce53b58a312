from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """Site-wide pages (home, sign-up, account) and the `serve` command."""

    name = "project"
    verbose_name = "Verbatim site"
