"""Leases: a running job's claim on its worker, renewed while it runs. A job
whose lease lapses (its worker died) is requeued by the sweeper."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from transcripts.models import RUNNING_STATUSES, Transcript

log = logging.getLogger(__name__)


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
                self.renew(ids)
            except Exception:
                log.exception("Renewing job leases failed")
            finally:
                connection.close()  # back to the pool until the next renewal

    @staticmethod
    def renew(ids: list[int]) -> None:
        Transcript.objects.filter(pk__in=ids, status__in=RUNNING_STATUSES).update(
            lease_expires_at=timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)
        )


lease_keeper = LeaseKeeper()
