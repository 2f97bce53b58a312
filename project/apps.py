from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """Site-wide pages (home, sign-up, account), the `serve` command, and the
    framework patches (project/framework.py)."""

    name = "project"
    verbose_name = "Verbatim site"

    def ready(self) -> None:
        from project import framework

        framework.install()
