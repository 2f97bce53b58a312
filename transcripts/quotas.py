"""Per-user quotas: storage, audio minutes per month per engine (Scribe is
paid by the minute), jobs queued or running at once, live sessions open at
once. Site-wide defaults come from settings; an administrator gives a user
their own in the admin (a Quota row, blank fields meaning the default).

The services check them (transcripts.services for uploads, retries and new
batch passes; realtime.services for live sessions) while holding the user's
row locked, so two requests at once cannot both squeeze under a limit; every
entry point (pages, an API) goes through those services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.utils import timezone

from transcripts.engines.registry import label
from transcripts.formatting import clock, human_size
from transcripts.models import EngineUsage, Media, Quota, Transcript


class QuotaExceeded(Exception):
    """str(self) says the limit and the usage, for the person refused."""


@dataclass(frozen=True)
class Limits:
    """None means no limit."""

    storage_bytes: int | None
    active_jobs: int | None
    live_sessions: int | None
    monthly_minutes: dict[str, float] = field(default_factory=dict)

    def minutes_for(self, engine: str) -> float | None:
        return self.monthly_minutes.get(engine)


def site_limits() -> Limits:
    return Limits(
        storage_bytes=settings.QUOTA_STORAGE_BYTES,
        active_jobs=settings.QUOTA_ACTIVE_JOBS,
        live_sessions=settings.LIVE_MAX_SESSIONS_PER_USER,
        monthly_minutes=dict(settings.QUOTA_MONTHLY_MINUTES),
    )


def limits_for(user) -> Limits:
    """The site's defaults with the user's own quota laid over them."""
    default = site_limits()
    own = Quota.objects.filter(user=user).first()
    if own is None:
        return default

    def pick(value, fallback):
        return fallback if value is None else value

    return Limits(
        storage_bytes=pick(own.storage_bytes, default.storage_bytes),
        active_jobs=pick(own.active_jobs, default.active_jobs),
        live_sessions=pick(own.live_sessions, default.live_sessions),
        monthly_minutes={**default.monthly_minutes, **{k: float(v) for k, v in own.monthly_minutes.items()}},
    )


def lock(user) -> None:
    """Hold the user's row until the transaction ends (call inside one)."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


# --- usage ----------------------------------------------------------------------


def month_start(now: datetime | None = None) -> datetime:
    """Midnight on the first of this month, in the site's time zone."""
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def storage_used(user) -> int:
    return Media.objects.filter(owner=user).aggregate(total=Sum("size"))["total"] or 0


def minutes_used(user, engine: str) -> float:
    return seconds_this_month(user).get(engine, 0.0) / 60


def seconds_this_month(user) -> dict[str, float]:
    """{engine: seconds of audio sent to it since the first of the month}."""
    rows = EngineUsage.objects.filter(user=user, created__gte=month_start())
    return {row["engine"]: row["total"] for row in rows.values("engine").annotate(total=Sum("seconds"))}


def active_jobs(user) -> int:
    return Transcript.objects.owned_by(user).active().count()


def record(user, engine: str, seconds: float | None) -> None:
    """Count audio sent to an engine (a queued job, a finished live session)."""
    if seconds:
        EngineUsage.objects.create(user_id=getattr(user, "pk", user), engine=engine, seconds=seconds)


# --- checks (each called with the user's row locked) ---------------------------------


def check_storage(user, limits: Limits, *, adding: int) -> None:
    """`adding` bytes must fit; with nothing to add, some room must be left."""
    if limits.storage_bytes is None:
        return
    used = storage_used(user)
    if used + adding > limits.storage_bytes or used >= limits.storage_bytes:
        need = f"This needs {human_size(adding)}, but you" if adding else "You"
        raise QuotaExceeded(
            f"{need} have {human_size(used)} of your {human_size(limits.storage_bytes)} storage in use. "
            "Delete some recordings, or ask an administrator to raise your limit."
        )


def check_minutes(user, limits: Limits, engine: str, *, adding: float) -> None:
    """`adding` seconds must fit in this month's minutes for the engine."""
    allowed = limits.minutes_for(engine)
    if allowed is None:
        return
    used, allowed_seconds = seconds_this_month(user).get(engine, 0.0), allowed * 60
    if used + adding > allowed_seconds or used >= allowed_seconds:
        need = f"This recording is {clock(adding)} long, but you" if adding else "You"
        raise QuotaExceeded(
            f"{need} have used {clock(used)} of your {clock(allowed_seconds)} {label(engine)} "
            "minutes this month. Ask an administrator to raise your limit, or wait for next month."
        )


def check_jobs(user, limits: Limits) -> None:
    if limits.active_jobs is None:
        return
    running = active_jobs(user)
    if running >= limits.active_jobs:
        raise QuotaExceeded(
            f"You have {running} jobs queued or running; the limit is {limits.active_jobs}. "
            "Wait for some to finish, then try again."
        )


def check_new_job(user, engine: str, seconds: float, *, size: int = 0) -> None:
    """Everything a new job needs: a job slot, the engine's minutes and, for
    a new file, its storage. Call with the user's row locked."""
    limits = limits_for(user)
    check_jobs(user, limits)
    check_minutes(user, limits, engine, adding=seconds or 0)
    if size:
        check_storage(user, limits, adding=size)
