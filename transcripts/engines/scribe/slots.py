"""The Scribe account's concurrency limit, shared by every worker process on
every host: at most SCRIBE_MAX_CONCURRENCY transcription requests in flight.

With Redis (any multi-process install) the slots are members of one sorted
set, scored by their lease's expiry in Redis's own clock (no host's clock
matters). Taking a slot first drops expired leases, so the slots of a worker
that died (killed, host lost) come back after SCRIBE_SLOT_LEASE_SECONDS; a
living holder's leases are renewed by one thread per process. Without Redis
(the embedded mode: one worker process) a process-local semaphore does.

Taking a slot never waits: a job that finds none is put back in the queue
(transcripts.jobs.runner), so no worker thread is held by a waiting job.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator

from django.conf import settings

log = logging.getLogger(__name__)

KEY = "verbatim:scribe:slots"

# KEYS[1] the set; ARGV: limit, lease ms, token. 1 when taken.
ACQUIRE = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  return 1
end
return 0
"""

# KEYS[1] the set; ARGV: lease ms, tokens... The leases still held are extended.
RENEW = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
end
return 1
"""


class NoFreeSlot(Exception):
    """Every slot of the account is taken."""


class RedisSlots:
    def __init__(self, url: str, *, limit: int, lease_seconds: float, key: str = KEY):
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        self.limit, self.lease_ms, self.key = limit, int(lease_seconds * 1000), key
        self.acquire_script = self.redis.register_script(ACQUIRE)
        self.renew_script = self.redis.register_script(RENEW)
        self.held: set[str] = set()
        self.lock = threading.Lock()
        self.renewer: threading.Thread | None = None

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        token = uuid.uuid4().hex
        if not self.acquire_script(keys=[self.key], args=[self.limit, self.lease_ms, token]):
            raise NoFreeSlot()
        with self.lock:
            self.held.add(token)
            if self.renewer is None or not self.renewer.is_alive():
                self.renewer = threading.Thread(target=self.renew_forever, name="scribe-slot-leases", daemon=True)
                self.renewer.start()
        try:
            yield
        finally:
            with self.lock:
                self.held.discard(token)
            try:
                self.redis.zrem(self.key, token)
            except Exception:  # the lease lapses on its own
                log.warning("Could not give back a Scribe slot; its lease will lapse", exc_info=True)

    def renew_forever(self) -> None:
        while True:
            time.sleep(self.lease_ms / 1000 / 3)
            with self.lock:
                tokens = list(self.held)
            if tokens:
                try:
                    self.renew_script(keys=[self.key], args=[self.lease_ms, *tokens])
                except Exception:
                    log.warning("Renewing Scribe slot leases failed", exc_info=True)

    def in_use(self) -> int:
        return int(self.redis.zcard(self.key))


class LocalSlots:
    """One process's slots (the embedded mode, and tests of the client alone)."""

    def __init__(self, limit: int):
        self.semaphore = threading.BoundedSemaphore(limit)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        if not self.semaphore.acquire(blocking=False):
            raise NoFreeSlot()
        try:
            yield
        finally:
            self.semaphore.release()


_slots: tuple[int, object] | None = None
_slots_lock = threading.Lock()


def account_slots() -> RedisSlots | LocalSlots:
    """This process's handle on the account's slots (made again after a fork)."""
    global _slots
    with _slots_lock:
        if _slots is None or _slots[0] != os.getpid():
            limit = settings.SCRIBE_MAX_CONCURRENCY
            handle: RedisSlots | LocalSlots = (
                RedisSlots(settings.REDIS_URL, limit=limit, lease_seconds=settings.SCRIBE_SLOT_LEASE_SECONDS)
                if settings.REDIS_URL
                else LocalSlots(limit)
            )
            _slots = (os.getpid(), handle)
        return _slots[1]  # type: ignore[return-value]


def reset() -> None:
    """Forget this process's handle (settings changed: tests)."""
    global _slots
    with _slots_lock:
        _slots = None
