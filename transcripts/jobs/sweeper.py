"""The sweeper (Celery beat, every SWEEP_INTERVAL_SECONDS): repairs what a
lost worker or broker left behind. The database is the truth about jobs;
the broker only carries wake-ups."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone

from transcripts.engines.base import PermanentEngineError
from transcripts.engines.registry import get_engine
from transcripts.jobs.progress import publish_job
from transcripts.jobs.queue import enqueue
from transcripts.jobs.runner import fail, finish
from transcripts.models import Status, Transcript


def sweep_stale_jobs() -> dict[str, int]:
    """Running jobs whose lease expired are requeued (or failed once out of
    attempts), queued jobs whose message may have been lost are sent again
    (a duplicate is a no-op), and jobs waiting on a provider are reconciled."""
    close_old_connections()
    now = timezone.now()
    counts = {"requeued": 0, "failed": 0, "resent": 0, "reconciled": 0}
    for transcript in Transcript.objects.filter(status=Status.TRANSCRIBING, lease_expires_at__lt=now):
        if transcript.attempts >= settings.JOB_MAX_ATTEMPTS:
            if transcript.fail(
                f"The transcription stopped unexpectedly {transcript.attempts} times, so it was given up. "
                "The file may be too demanding for this server."
            ):
                counts["failed"] += 1
                publish_job(transcript.pk)
        elif transcript.requeue(reset_attempts=False):
            enqueue(transcript)
            counts["requeued"] += 1
            publish_job(transcript.pk)
    resend_before = now - timedelta(seconds=settings.QUEUED_RESEND_SECONDS)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)  # a waiting job has its wake-up
    for transcript in Transcript.objects.filter(due, status=Status.QUEUED, updated__lt=resend_before):
        Transcript.objects.filter(pk=transcript.pk).update(updated=now)
        enqueue(transcript)
        counts["resent"] += 1
    counts["reconciled"] = reconcile_waiting(now)
    return counts


def reconcile_waiting(now) -> int:
    """Ask the provider about jobs whose webhook has not come."""
    waited = now - timedelta(seconds=settings.WEBHOOK_WAIT_SECONDS)
    reconciled = 0
    for transcript in Transcript.objects.filter(status=Status.WAITING, updated__lt=waited):
        reconcile = getattr(get_engine(transcript.engine), "reconcile", None)
        if reconcile is None:
            continue
        Transcript.objects.filter(pk=transcript.pk).update(updated=now)
        try:
            outcome = reconcile(transcript)
        except PermanentEngineError as error:
            fail(transcript, str(error))
            continue
        if outcome is not None and finish(transcript.pk, outcome):
            reconciled += 1
    return reconciled
