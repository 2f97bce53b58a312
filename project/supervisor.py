"""Keeps the processes of `manage.py serve` running, and stops them all.

Each program (the web server, the workers, beat) runs in a process group of
its own, so a dead child's leftovers (a Celery worker's pool processes) are
swept with it, and each is told to stop if the supervisor itself is killed
outright (Linux's parent-death signal), so nothing is ever orphaned.

A child that dies is restarted, after a pause that grows while it keeps
dying: a worker killed mid-job (out of memory, a crash in a media library)
must not take the site down, and its job is requeued by the sweeper. One
that dies MAX_RESTARTS times within RESTART_WINDOW seconds is not going to
get better (a port in use, a broken configuration): then everything stops,
with the reason, rather than a site that half works.

Beat (the sweeper's schedule) must run exactly once per site, however many
`serve` are started on it: it runs only while this supervisor holds the
beat lock (project/beat_lock.py); another one takes it over when it goes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field

from project.beat_lock import BeatLock

MAX_RESTARTS = 5
RESTART_WINDOW = 60.0
LONGEST_PAUSE = 10.0
STOP_TIMEOUT = 20.0
POLL_SECONDS = 0.25
PR_SET_PDEATHSIG = 1


@dataclass
class Program:
    name: str
    command: list[str]
    # Runs only while the beat lock is held (beat).
    needs_beat_lock: bool = False


@dataclass
class Child:
    program: Program
    popen: subprocess.Popen | None = None
    deaths: deque[float] = field(default_factory=deque)
    restart_at: float = 0.0

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


def _die_with_parent(parent: int):
    """In the child before exec: SIGTERM when the supervisor dies (even by
    SIGKILL), and exit at once if it already has."""

    def prepare() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:
            os._exit(1)

    return prepare


def kill_group(popen: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, sig)


class Supervisor:
    def __init__(self, programs: list[Program], beat_lock: BeatLock | None, *, out=None):
        self.children = [Child(program) for program in programs]
        self.beat_lock = beat_lock
        self.out = out or sys.stderr
        self.stopping = False
        self.failure = ""

    def say(self, message: str) -> None:
        print(f"serve: {message}", file=self.out, flush=True)

    # --- running ------------------------------------------------------------
    def run(self) -> int:
        """Until a signal (0) or a child that keeps dying (1)."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        try:
            for child in self.children:
                if not child.program.needs_beat_lock:
                    self._start(child)
            while not self.stopping:
                self._keep_beat()
                for child in self.children:
                    self._watch(child)
                time.sleep(POLL_SECONDS)
        finally:
            self._stop_all()
        if self.failure:
            self.say(self.failure)
            return 1
        return 0

    def _on_signal(self, signum, _frame) -> None:
        self.stopping = True

    def _start(self, child: Child) -> None:
        pass_fds = self.beat_lock.inheritable_fds() if child.program.needs_beat_lock and self.beat_lock else ()
        child.popen = subprocess.Popen(  # noqa: S603 (our own commands)
            child.program.command,
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()),  # noqa: PLW1509 (no threads run yet)
            pass_fds=pass_fds,
        )
        self.say(f"started {child.program.name} (pid {child.popen.pid})")

    def _watch(self, child: Child) -> None:
        if child.popen is None:
            if child.restart_at and time.monotonic() >= child.restart_at and self._may_run(child):
                child.restart_at = 0.0
                self._start(child)
            return
        code = child.popen.poll()
        if code is None or self.stopping:
            return
        kill_group(child.popen)  # whatever it left behind (a worker's pool processes)
        child.popen = None
        now = time.monotonic()
        child.deaths.append(now)
        while child.deaths and now - child.deaths[0] > RESTART_WINDOW:
            child.deaths.popleft()
        if len(child.deaths) >= MAX_RESTARTS:
            self.failure = (
                f"{child.program.name} died {len(child.deaths)} times within {RESTART_WINDOW:.0f} s "
                f"(last exit code {code}); stopping everything. See its log above."
            )
            self.stopping = True
            return
        pause = min(2.0 ** (len(child.deaths) - 1), LONGEST_PAUSE)
        self.say(f"{child.program.name} exited with code {code}; restarting it in {pause:.0f} s")
        child.restart_at = now + pause

    def _may_run(self, child: Child) -> bool:
        return not child.program.needs_beat_lock or (self.beat_lock is not None and self.beat_lock.held)

    # --- beat ---------------------------------------------------------------
    def _keep_beat(self) -> None:
        if self.beat_lock is None:
            return
        beats = [child for child in self.children if child.program.needs_beat_lock]
        if self.beat_lock.held:
            if self.beat_lock.renew():
                return
            self.say("lost the beat lock; stopping beat (another serve runs it)")
            for child in beats:
                self._stop(child)
                child.restart_at = 0.0
            return
        if self.beat_lock.acquire():
            self.say("holding the beat lock: this serve runs beat")
            for child in beats:
                self._start(child)

    # --- stopping -----------------------------------------------------------
    def _stop(self, child: Child, timeout: float = STOP_TIMEOUT) -> None:
        if child.popen is None:
            return
        if child.popen.poll() is None:
            child.popen.terminate()
            try:
                child.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.say(f"{child.program.name} did not stop within {timeout:.0f} s; killing it")
        kill_group(child.popen)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.popen.wait(5)
        child.popen = None

    def _stop_all(self) -> None:
        """SIGTERM to every child at once (Celery finishes or hands back its
        jobs, Daphne closes its sockets), then SIGKILL to every group left."""
        running = [child for child in self.children if child.running]
        for child in running:
            child.popen.terminate()  # type: ignore[union-attr]
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.popen.wait(max(deadline - time.monotonic(), 0.1))  # type: ignore[union-attr]
        for child in self.children:
            if child.popen is not None:
                if child.popen.poll() is None:
                    self.say(f"{child.program.name} did not stop within {STOP_TIMEOUT:.0f} s; killing it")
                kill_group(child.popen)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.popen.wait(5)
                child.popen = None
        if self.beat_lock is not None:
            self.beat_lock.release()
