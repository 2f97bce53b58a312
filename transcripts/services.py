"""Named workflows: take an upload, run a job, finish it, sweep stale jobs."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from realtime.progress import publish_job
from transcripts import canonical
from transcripts.engines import (
    EngineJob,
    EngineResult,
    JobCancelled,
    PermanentEngineError,
    Submitted,
    TranscriptionOptions,
    get_engine,
    queue_for,
)
from transcripts.formatting import human_duration, human_size
from transcripts.media_probe import MediaInfo, ProbeError, probe
from transcripts.models import RUNNING_STATUSES, Media, Status, Transcript, TranscriptResult

log = logging.getLogger(__name__)

# A transcript this long (words and spaces) is rendered when its job finishes;
# a shorter one renders on its first view in a few milliseconds.
PRERENDER_MIN_WORDS = 4000
# Progress is written at most this often (and on every whole percent).
PROGRESS_MIN_INTERVAL_SECONDS = 1.0


class UploadRejected(Exception):
    """str(self) is the message for the person who uploaded."""


# --- uploads ------------------------------------------------------------------


def check_limits(size: int, info: MediaInfo | None = None) -> None:
    if size > settings.MAX_UPLOAD_BYTES:
        raise UploadRejected(f"This file is larger than the {human_size(settings.MAX_UPLOAD_BYTES)} limit.")
    if info and info.duration > settings.MAX_MEDIA_SECONDS:
        raise UploadRejected(
            f"This recording is {human_duration(info.duration)} long; "
            f"the limit is {human_duration(settings.MAX_MEDIA_SECONDS)}."
        )


def create_upload(user, uploaded, *, engine: str, options: TranscriptionOptions) -> Transcript:
    """Probe an uploaded file, store it under a name of ours and queue its job.

    On any refusal nothing is kept: no row, no stored file (the temporary
    upload is removed by Django when the request ends).
    """
    check_limits(uploaded.size)
    try:
        info = probe(uploaded.temporary_file_path(), settings.PROBE_TIMEOUT_SECONDS)
    except ProbeError as error:
        raise UploadRejected(str(error)) from None
    check_limits(uploaded.size, info)
    title = Path(uploaded.name or "Recording").stem[:200] or "Recording"
    return create_transcript(user, uploaded, info, title=title, engine=engine, options=options)


def media_for(owner, info: MediaInfo, *, original_name: str, size: int) -> Media:
    """An unsaved Media row for a probed file."""
    return Media(
        owner=owner,
        original_name=original_name[:255],
        extension=info.extension,
        size=size,
        format_name=info.format_name,
        mime_type=info.mime_type,
        has_video=info.has_video,
        duration=info.duration,
        channels=info.channels,
        sample_rate=info.sample_rate,
    )


def create_transcript(
    user, content: File, info: MediaInfo, *, title: str, engine: str, options: TranscriptionOptions
) -> Transcript:
    media = media_for(user, info, original_name=content.name or title, size=content.size)
    try:
        with transaction.atomic():
            media.file.save("upload", content, save=False)
            media.save()
            transcript = Transcript.objects.create(
                owner=user,
                media=media,
                title=title,
                engine=engine,
                options=options.to_dict(),
                duration=info.duration,
            )
            transaction.on_commit(lambda: enqueue(transcript))
    except BaseException:
        if media.file.name:
            default_storage.delete(media.file.name)
        raise
    return transcript


def enqueue(transcript: Transcript, *, countdown: float = 0) -> None:
    from transcripts.tasks import transcribe

    transcribe.apply_async(args=[transcript.pk], queue=queue_for(transcript.engine), countdown=countdown)


# --- user actions ---------------------------------------------------------------


def cancel(transcript: Transcript) -> bool:
    changed = transcript.cancel()
    if changed:
        publish_job(transcript.pk)
    return changed


def retry(transcript: Transcript) -> bool:
    changed = transcript.requeue(reset_attempts=True)
    if changed:
        transaction.on_commit(lambda: enqueue(transcript))
        publish_job(transcript.pk)
    return changed


def delete(transcript: Transcript) -> None:
    """Delete a transcript, and its media once no other transcript uses it."""
    media = transcript.media
    transcript.cancel()
    transcript.delete()
    if media and not media.transcripts.exists():
        name = media.file.name
        media.delete()
        transaction.on_commit(lambda: default_storage.delete(name))


# --- running a job ----------------------------------------------------------------


def run_job(transcript_id: int) -> None:
    """Claim the job, run its engine and store the result. A second delivery of
    the same job finds it claimed and does nothing.

    The database work before and after the engine runs `on_db_thread`, so a
    worker with hundreds of threads waiting on a cloud engine uses only a few
    connections (the engine itself should not touch the database while it waits)."""
    transcript = on_db_thread(_claim, transcript_id)
    if transcript is None:
        return
    try:
        outcome = _transcribe(transcript)
    except JobCancelled:
        return
    except PermanentEngineError as error:
        on_db_thread(_fail, transcript, str(error))
        return
    except Exception as error:  # a bug or a crash in an engine: say so plainly
        log.exception("Transcription %s failed", transcript.pk)
        on_db_thread(_fail, transcript, f"The transcription stopped with an internal error ({type(error).__name__}).")
        return
    on_db_thread(_conclude, transcript, outcome)


def _claim(transcript_id: int) -> Transcript | None:
    transcript = Transcript.objects.select_related("media").filter(pk=transcript_id).first()
    if transcript is None or not transcript.claim():
        return None
    publish_job(transcript.pk)
    return transcript


def _conclude(transcript: Transcript, outcome: EngineResult | Submitted) -> None:
    if isinstance(outcome, Submitted):
        if transcript.mark_waiting(outcome.request_id):
            publish_job(transcript.pk)
        return
    finish(transcript.pk, outcome)


_db_executor: ThreadPoolExecutor | None = None
_db_executor_pid = 0
_db_executor_lock = threading.Lock()


def on_db_thread(function, *args):
    """Run `function(*args)` on one of JOB_DB_CONNECTIONS threads of this
    process that keep their database connections open. Postgres allows ~100
    connections in all and a Scribe worker runs hundreds of threads: only
    these few ever hold one, and no job pays for connecting. Inside a
    transaction (tests) it runs in the caller's thread, on its connection."""
    if (
        connection.in_atomic_block
        or getattr(_on_db_thread, "active", False)
        or threading.current_thread() is threading.main_thread()
    ):
        # A test's transaction, a nested call, or a one-job-per-process pool
        # (prefork, solo): the caller's own connection is the right one.
        return function(*args)
    return _db_threads().submit(_with_fresh_connection, function, *args).result()


def _db_threads() -> ThreadPoolExecutor:
    global _db_executor, _db_executor_pid
    with _db_executor_lock:
        if _db_executor is None or _db_executor_pid != os.getpid():  # a forked child has no threads
            _db_executor = ThreadPoolExecutor(settings.JOB_DB_CONNECTIONS, thread_name_prefix="job-db")
            _db_executor_pid = os.getpid()
        return _db_executor


_on_db_thread = threading.local()


def _with_fresh_connection(function, *args):
    _on_db_thread.active = True  # a nested call runs here, not queued behind itself
    close_old_connections()  # drops a connection that broke or outlived CONN_MAX_AGE
    return function(*args)


def _fail(transcript: Transcript, reason: str) -> None:
    if transcript.fail(reason):
        publish_job(transcript.pk)


def _transcribe(transcript: Transcript) -> EngineResult | Submitted:
    if transcript.media is None:
        raise PermanentEngineError("The recording for this transcript was deleted.")
    engine = get_engine(transcript.engine)
    media = transcript.media
    with (
        media_on_disk(media, needed=getattr(engine, "needs_local_file", True)) as path,
        lease_keeper.keep(transcript.pk),
    ):
        job = EngineJob(
            transcript_id=transcript.pk,
            media_path=path,
            media_name=media.file.name,
            duration=media.duration,
            channels=media.channels,
            options=TranscriptionOptions.from_dict(transcript.options),
            progress=ProgressReporter(transcript),
        )
        return engine.transcribe(job)


def finish(transcript_id: int, result: EngineResult) -> bool:
    """Store the result and mark the job done, once. Later calls for the same
    job (a duplicate webhook, a reconciliation racing it) change nothing."""
    words = result.transcript
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
                language_code=(words.get("language_code") or "")[:16],
                finished_at=now,
                updated=now,
            )
    except IntegrityError:
        return False
    if len(words.get("words", ())) >= PRERENDER_MIN_WORDS:
        prerender_page(transcript_id)
    publish_job(transcript_id)
    return True


def prerender_page(transcript_id: int) -> None:
    """Render a long transcript's page body here, in the worker, so even its
    first view skips parsing the words (the page renders it on demand if this fails)."""
    from transcripts import rendering

    try:
        rendering.body_for(transcript_id, editable=False)
    except Exception:
        log.exception("Could not pre-render transcript %s", transcript_id)


class ProgressReporter:
    """The `progress` callback an engine calls with a fraction 0..1. It writes
    the percentage (throttled), renews the lease, and raises JobCancelled when
    the job is no longer running."""

    def __init__(self, transcript: Transcript):
        self.transcript = transcript
        self.last_percent = -1.0
        self.last_write = 0.0

    def __call__(self, fraction: float) -> None:
        percent = round(100 * min(max(fraction, 0.0), 1.0), 1)
        now = time.monotonic()
        if int(percent) == int(self.last_percent) and now - self.last_write < PROGRESS_MIN_INTERVAL_SECONDS:
            return
        self.last_percent, self.last_write = percent, now
        if not self.transcript.report_progress(percent):
            raise JobCancelled()
        publish_job(self.transcript.pk)


class LeaseKeeper:
    """Keeps the leases of this process's running jobs alive while engines work
    without reporting progress (a long upload to a provider, say): one thread
    and one UPDATE per interval for all of them, not a thread and a database
    connection per job."""

    def __init__(self) -> None:
        self.ids: dict[int, int] = {}
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    @contextlib.contextmanager
    def keep(self, transcript_id: int) -> Iterator[None]:
        with self.lock:
            self.ids[transcript_id] = self.ids.get(transcript_id, 0) + 1
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.run, name="lease-keeper", daemon=True)
                self.thread.start()
        try:
            yield
        finally:
            with self.lock:
                self.ids[transcript_id] -= 1
                if not self.ids[transcript_id]:
                    del self.ids[transcript_id]

    def run(self) -> None:
        while True:
            time.sleep(settings.JOB_LEASE_SECONDS / 3)
            with self.lock:
                ids = list(self.ids)
            if not ids:
                continue
            try:
                on_db_thread(self.renew, ids)
            except Exception:
                log.exception("Renewing job leases failed")

    @staticmethod
    def renew(ids: list[int]) -> None:
        Transcript.objects.filter(pk__in=ids, status__in=RUNNING_STATUSES).update(
            lease_expires_at=timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)
        )


lease_keeper = LeaseKeeper()


@contextlib.contextmanager
def media_on_disk(media: Media, *, needed: bool = True) -> Iterator[str | None]:
    """A local path to the media: the stored file itself on a local disk, or
    a temporary copy when it lives in object storage."""
    try:
        yield default_storage.path(media.file.name)
        return
    except NotImplementedError:
        pass
    if not needed:
        yield None
        return
    with tempfile.NamedTemporaryFile(suffix=media.extension, dir=settings.FILE_UPLOAD_TEMP_DIR) as copy:
        with default_storage.open(media.file.name, "rb") as source:
            shutil.copyfileobj(source, copy, 1024 * 1024)
        copy.flush()
        yield copy.name


# --- the sweeper ------------------------------------------------------------------


def sweep_stale_jobs() -> dict[str, int]:
    """Repair what a lost worker or broker left behind: running jobs whose
    lease expired are requeued (or failed once out of attempts), queued jobs
    whose message may have been lost are sent again (a duplicate is a no-op),
    and jobs waiting on a provider are reconciled."""
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
    for transcript in Transcript.objects.filter(status=Status.QUEUED, updated__lt=resend_before):
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
        engine = get_engine(transcript.engine)
        reconcile = getattr(engine, "reconcile", None)
        if reconcile is None:
            continue
        Transcript.objects.filter(pk=transcript.pk).update(updated=now)
        try:
            outcome = reconcile(transcript)
        except PermanentEngineError as error:
            _fail(transcript, str(error))
            continue
        if outcome is not None and finish(transcript.pk, outcome):
            reconciled += 1
    return reconciled
