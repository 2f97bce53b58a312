"""Celery tasks: thin wrappers that take ids and call the services."""

from celery import shared_task

from transcripts import services


@shared_task(name="transcripts.tasks.transcribe", acks_late=True, reject_on_worker_lost=True)
def transcribe(transcript_id: int) -> None:
    services.run_job(transcript_id)


@shared_task(name="transcripts.tasks.sweep_stale_jobs", ignore_result=True)
def sweep_stale_jobs() -> dict:
    return services.sweep_stale_jobs()
