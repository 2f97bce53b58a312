from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Realtime"

    def ready(self) -> None:
        from realtime import links, receivers  # noqa: F401  (connects the signal receivers)
        from transcripts import sharing

        sharing.add_link_source(links.sharing_section)
