"""The lock that lets exactly one beat run per site, however many `serve`
(or hosts) are started on it. Two beats would schedule every sweep twice.

Where the lock lives follows what the site's processes share: the Redis
they use (its broker and channel layer), or, embedded, the data dir (its
filesystem broker). Neither waits: a supervisor that does not get the lock
tries again on its next round, so a second `serve` takes beat over when the
first one stops or dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Protocol

import redis
from redis.exceptions import LockError, RedisError

REDIS_LOCK_NAME = "verbatim:beat-lock"
# A lock whose holder died outright frees itself after this long.
REDIS_LOCK_SECONDS = 20.0
RENEW_EVERY = REDIS_LOCK_SECONDS / 4


class BeatLock(Protocol):
    @property
    def held(self) -> bool: ...

    def acquire(self) -> bool: ...

    def renew(self) -> bool:
        """Still held (extended if it expires)?"""
        ...

    def release(self) -> None: ...

    def inheritable_fds(self) -> tuple[int, ...]:
        """Descriptors beat inherits, so a lock of the file kind is not free
        until beat itself is gone (never two beats, even for a moment)."""
        ...


class FileBeatLock:
    """flock on a file in the data dir: the kernel frees it when every
    process holding it is gone, whatever killed them."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def renew(self) -> bool:
        return self.held

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def inheritable_fds(self) -> tuple[int, ...]:
        return (self.fd,) if self.fd is not None else ()


class RedisBeatLock:
    """redis-py's lock (a token under a key with an expiry), renewed while
    held. If Redis cannot be reached the lock counts as held until it would
    have expired, then as lost."""

    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.lock = self.client.lock(REDIS_LOCK_NAME, timeout=REDIS_LOCK_SECONDS, blocking=False)
        self.held = False
        self.renewed_at = 0.0

    def acquire(self) -> bool:
        try:
            self.held = bool(self.lock.acquire(blocking=False))
        except RedisError:
            self.held = False
        if self.held:
            self.renewed_at = time.monotonic()
        return self.held

    def renew(self) -> bool:
        if not self.held:
            return False
        now = time.monotonic()
        if now - self.renewed_at < RENEW_EVERY:
            return True
        try:
            self.lock.reacquire()
            self.renewed_at = now
        except LockError:  # expired and maybe taken by another supervisor
            self.held = False
        except RedisError:
            self.held = now - self.renewed_at < REDIS_LOCK_SECONDS - RENEW_EVERY
        return self.held

    def release(self) -> None:
        if self.held:
            with contextlib.suppress(LockError, RedisError):
                self.lock.release()
            self.held = False

    def inheritable_fds(self) -> tuple[int, ...]:
        return ()


def for_site(redis_url: str, data_dir: Path) -> BeatLock:
    return RedisBeatLock(redis_url) if redis_url else FileBeatLock(data_dir / "beat.lock")
