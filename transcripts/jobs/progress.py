"""Job progress: the JSON a page needs to redraw a job, pushed to the
owner's browsers, and the progress callback engines call.

Workers send each change to the owner's channel-layer group. With the
in-memory layer (the embedded mode, no Redis) a worker cannot reach the web
process, so the socket watches the database instead (jobs/consumer.py).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import threading
import time

from channels.layers import get_channel_layer
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from transcripts.engines.base import JobCancelled
from transcripts.formatting import human_duration
from transcripts.models import Status, Transcript

log = logging.getLogger(__name__)

# Jobs with a message waiting for the channel layer, per process; past this the oldest go.
PROGRESS_QUEUE_LENGTH = 10_000

# Progress is written at most this often (and on every whole percent).
PROGRESS_MIN_INTERVAL_SECONDS = 1.0

SNAPSHOT_FIELDS = (
    "id",
    "owner_id",
    "title",
    "status",
    "progress",
    "error",
    "engine",
    "language_code",
    "duration",
    "updated",
    "notice",
    "next_attempt_at",
)


def group_for(user_id: int) -> str:
    return f"jobs.user.{user_id}"


def snapshot(row: dict) -> dict:
    """The JSON a page needs to redraw one job."""
    return {
        "id": row["id"],
        "title": row["title"],
        "status": row["status"],
        "status_label": Status(row["status"]).label,
        "progress": row["progress"],
        "error": row["error"],
        "engine": row["engine"],
        "language": row["language_code"],
        "duration": human_duration(row["duration"]),
        "url": reverse("transcripts:detail", args=[row["id"]]),
        "notice": waiting_notice(row["status"], row["notice"], row["next_attempt_at"]),
    }


def waiting_notice(status: str, notice: str, next_attempt_at) -> str:
    """ "Waiting: Scribe is busy, next try at 14:05" for a job put back to wait."""
    if status != Status.QUEUED or not notice:
        return ""
    if next_attempt_at is None:
        return f"Waiting: {notice}"
    return f"Waiting: {notice}, next try at {timezone.localtime(next_attempt_at):%H:%M}"


def publish_job(transcript_id: int) -> None:
    """Tell the owner's browsers about a job, best-effort: the send is queued
    for the sender thread and this returns at once. A channel layer that is
    down or hung is logged there and never fails, delays or crashes a job
    (the page also polls /status/, and the row in the database is the truth)."""
    if settings.PROGRESS_POLL_SECONDS:
        return  # no shared layer: browsers learn from the database watch
    try:
        row = Transcript.objects.filter(pk=transcript_id).values(*SNAPSHOT_FIELDS).first()
        if row is not None:
            _sender().submit(group_for(row["owner_id"]), {"type": "job.update", "job": snapshot(row)})
    except Exception:
        log.warning("Could not queue the progress of job %s", transcript_id, exc_info=True)


def publish_timeout() -> float:
    return settings.PROGRESS_PUBLISH_TIMEOUT_SECONDS


def flush(timeout: float = 10.0) -> bool:
    """Wait until every queued progress message was sent or given up (tests,
    and a worker that is about to exit)."""
    sender = _sender_instance
    return sender is None or sender.pid != os.getpid() or sender.wait_idle(timeout)


class ProgressSender:
    """One event-loop thread per process sends progress to the channel layer,
    in order, each send bounded by PROGRESS_PUBLISH_TIMEOUT_SECONDS. (From a
    worker thread `async_to_sync` makes a new loop, and so a new Redis
    connection, per call: ~11 ms of CPU, the largest cost of a Scribe job;
    channels_redis keeps its connection pool per loop, so this reuses it.)
    Each message is a whole snapshot of a job, so a newer one replaces an
    unsent older one of the same job: a slow or hung layer holds at most one
    message per job, and the oldest go past PROGRESS_QUEUE_LENGTH jobs."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.pending: collections.OrderedDict[tuple[str, int], dict] = collections.OrderedDict()
        self.wakeup = asyncio.Event()
        self.idle = threading.Event()  # set while no message is waiting or being sent
        self.idle.set()
        self.outstanding = 0  # messages submitted and not yet sent, replaced or dropped
        self.count_lock = threading.Lock()
        self.failing = False
        threading.Thread(target=self.run, name="channel-layer-sender", daemon=True).start()

    def submit(self, group: str, message: dict) -> None:
        with self.count_lock:
            self.outstanding += 1
            self.idle.clear()
        self.loop.call_soon_threadsafe(self._enqueue, group, message)

    def _done(self, count: int = 1) -> None:
        with self.count_lock:
            self.outstanding -= count
            if not self.outstanding:
                self.idle.set()

    def _enqueue(self, group: str, message: dict) -> None:
        key = (group, message["job"]["id"])
        if self.pending.pop(key, None) is not None:  # the newer snapshot goes to the back of the line
            self._done()
        self.pending[key] = message
        while len(self.pending) > PROGRESS_QUEUE_LENGTH:
            self.pending.popitem(last=False)
            self._done()
        self.wakeup.set()

    def wait_idle(self, timeout: float) -> bool:
        return self.idle.wait(timeout)

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.drain())

    async def drain(self) -> None:
        while True:
            if not self.pending:
                self.wakeup.clear()
                await self.wakeup.wait()
                continue
            (group, _), message = self.pending.popitem(last=False)
            try:
                await self.send(group, message)
            finally:
                self._done()

    async def send(self, group: str, message: dict) -> None:
        try:
            await asyncio.wait_for(get_channel_layer().group_send(group, message), publish_timeout())
        except Exception as error:  # down, hung, full: the job goes on regardless
            if not self.failing:
                log.warning("Job progress could not be published (%s: %s); jobs go on", type(error).__name__, error)
            self.failing = True
        else:
            if self.failing:
                log.info("Job progress is being published again")
            self.failing = False


_sender_instance: ProgressSender | None = None
_sender_lock = threading.Lock()


def _sender() -> ProgressSender:
    global _sender_instance
    with _sender_lock:
        if _sender_instance is None or _sender_instance.pid != os.getpid():  # a forked child has no thread
            _sender_instance = ProgressSender()
        return _sender_instance


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
