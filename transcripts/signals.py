"""Signals other apps listen to, so they can follow jobs without
transcripts knowing them (dependencies point one way)."""

from __future__ import annotations

import logging

from django.dispatch import Signal

log = logging.getLogger(__name__)

# A job ended, after its transaction committed: kwargs `transcript_id` and
# `status` ("done" or "failed").
job_ended = Signal()

# A finished transcript's words were edited (or reverted), after the edit's
# transaction committed: kwarg `transcript_id`.
transcript_edited = Signal()


def announce_job_ended(transcript_id: int, status: str) -> None:
    """Tell the listeners; a listener's error is logged and never fails the job."""
    from transcripts.models import Transcript

    for receiver, outcome in job_ended.send_robust(sender=Transcript, transcript_id=transcript_id, status=str(status)):
        if isinstance(outcome, Exception):
            log.error("A job_ended listener (%r) failed for transcript %s", receiver, transcript_id, exc_info=outcome)


def announce_transcript_edited(transcript_id: int) -> None:
    """Tell the listeners; a listener's error is logged and never fails the edit."""
    from transcripts.models import Transcript

    for receiver, outcome in transcript_edited.send_robust(sender=Transcript, transcript_id=transcript_id):
        if isinstance(outcome, Exception):
            log.error("A transcript_edited listener (%r) failed for %s", receiver, transcript_id, exc_info=outcome)
