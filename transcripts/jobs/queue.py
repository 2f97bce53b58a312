"""Sending a job to a worker."""

from __future__ import annotations

from transcripts.engines.registry import queue_for
from transcripts.models import Transcript


def enqueue(transcript: Transcript, *, countdown: float = 0) -> None:
    """A wake-up for the worker: the row is the job, so a duplicate message
    is a no-op and a lost one is sent again by the sweeper."""
    from transcripts.jobs.tasks import transcribe

    transcribe.apply_async(args=[transcript.pk], queue=queue_for(transcript.engine), countdown=countdown)
