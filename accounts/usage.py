"""What a user has used of their quota, as rows for the account page and the
users' admin: storage, this month's minutes per engine, jobs, live sessions."""

from __future__ import annotations

from dataclasses import dataclass

from realtime.services import live_sessions_open
from transcripts import quotas
from transcripts.engines.registry import available_engines, label
from transcripts.formatting import clock, human_size

NO_LIMIT = "no limit"


@dataclass(frozen=True)
class UsageRow:
    what: str
    used: str
    limit: str  # NO_LIMIT when there is none
    full: bool


def summary(user) -> list[UsageRow]:
    limits = quotas.limits_for(user)
    storage = quotas.storage_used(user)
    rows = [row("Storage", storage, limits.storage_bytes, human_size)]
    seconds = quotas.seconds_this_month(user)
    engines = dict(available_engines()) | {engine: label(engine) for engine in seconds}
    for engine, name in engines.items():
        minutes = limits.minutes_for(engine)
        allowed = None if minutes is None else minutes * 60
        rows.append(row(f"{name} this month", seconds.get(engine, 0.0), allowed, clock))
    rows.append(row("Jobs queued or running", quotas.active_jobs(user), limits.active_jobs, str))
    rows.append(row("Live sessions open", live_sessions_open(user), limits.live_sessions, str))
    return rows


def row(what: str, used: float, limit: float | None, show) -> UsageRow:
    return UsageRow(
        what=what,
        used=show(used),
        limit=NO_LIMIT if limit is None else show(limit),
        full=limit is not None and used >= limit,
    )
