"""Celery tasks: thin wrappers that take ids and call the job code. The task
names are the ones earlier releases used, so messages already queued still
reach them after an upgrade."""

from celery import shared_task

from transcripts.jobs import runner, sweeper


@shared_task(name="transcripts.tasks.transcribe", acks_late=True, reject_on_worker_lost=True)
def transcribe(transcript_id: int) -> None:
    runner.run_job(transcript_id)


@shared_task(
    name="transcripts.tasks.forget_provider_copy",
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    max_retries=10,
)
def forget_provider_copy(engine: str, copy_id: str) -> None:
    """Delete the provider's copy of a transcript (privacy.forget_provider_copy)."""
    from transcripts.engines.registry import get_engine

    forget = getattr(get_engine(engine), "forget", None)  # optional: engines that keep copies have it
    if forget is not None:
        forget(copy_id)


@shared_task(name="transcripts.tasks.sweep_stale_jobs", ignore_result=True)
def sweep_stale_jobs() -> dict:
    return sweeper.sweep_stale_jobs()


@shared_task(name="transcripts.tasks.sweep_expired_uploads", ignore_result=True)
def sweep_expired_uploads() -> int:
    from transcripts import resumable  # it reaches this module through services and the queue

    return resumable.sweep_expired()
