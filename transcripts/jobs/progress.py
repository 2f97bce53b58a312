"""Job progress: the JSON a page needs to redraw a job, pushed to the
owner's browsers, and the progress callback engines call.

Workers send each change to the owner's channel-layer group. With the
in-memory layer (the embedded mode, no Redis) a worker cannot reach the web
process, so the socket watches the database instead (jobs/consumer.py).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

from channels.layers import get_channel_layer
from django.conf import settings
from django.urls import reverse

from transcripts.engines.base import JobCancelled
from transcripts.formatting import human_duration
from transcripts.models import Status, Transcript

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
    }


def publish_job(transcript_id: int) -> None:
    if settings.PROGRESS_POLL_SECONDS:
        return  # no shared layer: browsers learn from the database watch
    row = Transcript.objects.filter(pk=transcript_id).values(*SNAPSHOT_FIELDS).first()
    if row is None:
        return
    send = get_channel_layer().group_send(group_for(row["owner_id"]), {"type": "job.update", "job": snapshot(row)})
    asyncio.run_coroutine_threadsafe(send, _sender_loop()).result(timeout=30)


_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()


def _sender_loop() -> asyncio.AbstractEventLoop:
    """One event loop thread per process for channel-layer sends from sync
    code. (`async_to_sync` from a worker thread makes a new loop, and so a new
    Redis connection, per call: ~11 ms of CPU, the largest cost of a Scribe
    job.) channels_redis keeps its connection pool per loop, so this reuses it."""
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():  # a forked child has no loop thread
            _loop, _loop_pid = asyncio.new_event_loop(), os.getpid()
            threading.Thread(target=_loop.run_forever, name="channel-layer-sender", daemon=True).start()
        return _loop


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
