from django.apps import AppConfig


class ApiConfig(AppConfig):
    """Verbatim's developer API (REST under /api/v1/), the Scribe- and
    OpenAI-compatible endpoints (api/compat/), API tokens and outgoing
    webhooks."""

    name = "api"
    verbose_name = "Developer API"

    def ready(self) -> None:
        from api.webhooks import events
        from transcripts.signals import job_ended

        job_ended.connect(events.on_job_ended, dispatch_uid="api.webhooks.on_job_ended")
