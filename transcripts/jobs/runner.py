"""Running a job: claim it, run its engine, store the result once.

A second delivery of the same job finds it claimed and does nothing; the
attempt is counted before the work starts, so a job that kills its worker
uses up its attempts; `finish` is the one way a transcript becomes done
(batch jobs, webhook deliveries, reconciliation and live sessions alike).
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from transcripts import privacy, results
from transcripts.document import canonical
from transcripts.engines.base import (
    EngineJob,
    EngineResult,
    JobCancelled,
    PermanentEngineError,
    RetryLater,
    Submitted,
    TranscriptionOptions,
)
from transcripts.engines.registry import get_engine
from transcripts.formatting import human_duration
from transcripts.jobs.leases import lease_keeper
from transcripts.jobs.progress import ProgressReporter, publish_job
from transcripts.jobs.queue import enqueue
from transcripts.languages import normalise_language
from transcripts.media.storage import local_path, media_source, open_media
from transcripts.models import RUNNING_STATUSES, WAIT_CLEARED, Status, Transcript, TranscriptResult
from transcripts.signals import announce_job_ended

log = logging.getLogger(__name__)

# A transcript this long (words and spaces) is rendered when its job finishes;
# a shorter one renders on its first view in a few milliseconds.
PRERENDER_MIN_WORDS = 4000


def run_job(transcript_id: int) -> None:
    """Claim the job, run its engine and store the result. Engines that wait
    on the network hand their database connection back to the pool while
    they wait, so a worker with hundreds of threads holds only a few."""
    transcript = claim(transcript_id)
    if transcript is None:
        return
    try:
        outcome = transcribe(transcript)
    except JobCancelled:
        return
    except RetryLater as wait:
        defer(transcript, wait)
        return
    except PermanentEngineError as error:
        fail(transcript, str(error))
        return
    except Exception as error:  # a bug or a crash in an engine: say so plainly
        log.exception("Transcription %s failed", transcript.pk)
        fail(transcript, f"The transcription stopped with an internal error ({type(error).__name__}).")
        return
    conclude(transcript, outcome)


def claim(transcript_id: int) -> Transcript | None:
    transcript = Transcript.objects.select_related("media").filter(pk=transcript_id).first()
    if transcript is None or not transcript.claim():
        return None
    publish_job(transcript.pk)
    return transcript


def transcribe(transcript: Transcript) -> EngineResult | Submitted:
    if transcript.media is None:
        raise PermanentEngineError("The recording for this transcript was deleted.")
    engine = get_engine(transcript.engine)
    name = transcript.media.file.name or ""
    with lease_keeper.keep(transcript.pk):
        job = EngineJob(
            transcript_id=transcript.pk,
            media_path=local_path(name),
            media_name=name,
            duration=transcript.media.duration,
            channels=transcript.media.channels,
            options=TranscriptionOptions.from_dict(transcript.options),
            progress=ProgressReporter(transcript),
            open_media=lambda: open_media(name),
            media_source=lambda: media_source(name),
        )
        return engine.transcribe(job)


def conclude(transcript: Transcript, outcome: EngineResult | Submitted) -> None:
    if isinstance(outcome, Submitted):
        if transcript.mark_waiting(outcome.request_id):
            publish_job(transcript.pk)
        return
    finish(transcript.pk, outcome)


def defer(transcript: Transcript, wait: RetryLater) -> None:
    """Put the job back in the queue to try again later, holding no worker
    thread meanwhile (the task is sent again with a countdown). A provider
    that stays busy is waited for with growing backoff for
    JOB_BUSY_BUDGET_SECONDS; only then does the job fail, saying why."""
    now = timezone.now()
    delay = wait.delay
    if wait.busy:
        waited = (now - (transcript.busy_since or now)).total_seconds()
        if waited >= settings.JOB_BUSY_BUDGET_SECONDS:
            fail(
                transcript,
                f"{wait.notice} and stayed so for {human_duration(waited)} ({wait.reason}), so the job was "
                "given up. Use Retry to send it again.",
            )
            return
        delay = max(busy_backoff(transcript.busy_retries), wait.delay)
    if transcript.defer(now + timedelta(seconds=delay), wait.notice, busy=wait.busy):
        enqueue(transcript, countdown=delay)
        publish_job(transcript.pk)


def busy_backoff(retries: int) -> float:
    """Growing waits with jitter: base, 2 x base, 4 x base ... up to the cap."""
    ceiling = min(settings.JOB_BUSY_BACKOFF_MAX_SECONDS, settings.JOB_BUSY_BACKOFF_SECONDS * 2 ** min(retries, 30))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def fail(transcript: Transcript, reason: str) -> None:
    if transcript.fail(reason):
        publish_job(transcript.pk)


def finish(transcript_id: int, result: EngineResult) -> bool:
    """Store the result and mark the job done, once. Later calls for the same
    job (a duplicate webhook, a reconciliation racing it) change nothing.
    The owner's pages are told, and a long transcript's page is rendered,
    once the transaction (this one, or the caller's) has committed."""
    words = result.transcript
    words["language_code"] = normalise_language(words.get("language_code"))
    try:
        with transaction.atomic():
            # The row lock orders concurrent finishers; the one-to-one result is
            # the database's own guarantee of a single transcript per job.
            transcript = Transcript.objects.select_for_update().filter(pk=transcript_id).first()
            if transcript is None or transcript.status not in RUNNING_STATUSES:
                return False
            TranscriptResult.objects.create(
                transcript=transcript,
                data=words,
                original=words,
                raw=result.raw,
                text=canonical.join_text(words.get("words", [])),
            )
            now = timezone.now()
            Transcript.objects.filter(pk=transcript_id).update(
                status=Status.DONE,
                progress=100,
                error="",
                lease_expires_at=None,
                **WAIT_CLEARED,
                language_code=words["language_code"],
                finished_at=now,
                updated=now,
            )
            long = len(words.get("words", ())) >= PRERENDER_MIN_WORDS
            transaction.on_commit(lambda: announce_done(transcript_id, prerender=long))
    except IntegrityError:
        return False
    return True


def announce_done(transcript_id: int, *, prerender: bool) -> None:
    announce_job_ended(transcript_id, Status.DONE)
    privacy.forget_after_storing(transcript_id)
    if prerender:
        results.prerender(transcript_id)
    publish_job(transcript_id)
