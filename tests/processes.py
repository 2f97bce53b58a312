"""What runs on this machine, read from /proc: a test that kills processes
checks that nothing it started is left behind."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Running:
    pid: int
    ppid: int
    pgid: int
    state: str
    command: str


def snapshot() -> list[Running]:
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            # "pid (name) state ppid pgrp ...": the name may hold spaces and parentheses.
            fields = stat[stat.rindex(")") + 2 :].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            found.append(Running(int(entry.name), int(fields[1]), int(fields[2]), fields[0], command))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it is not)."""
    try:
        state = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def descendants(pid: int) -> list[Running]:
    everything = snapshot()
    children: dict[int, list[Running]] = {}
    for process in everything:
        children.setdefault(process.ppid, []).append(process)
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            if child.state != "Z":
                found.append(child)
                pending.append(child.pid)
    return found


def in_group(pgid: int) -> list[Running]:
    return [process for process in snapshot() if process.pgid == pgid and process.state != "Z"]


def kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
