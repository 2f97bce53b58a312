"""Live sessions against their owners' quotas while they stream.

A session is checked when it starts (realtime/services.py), but a talk can
run for hours: at each heartbeat the audio recorded so far counts toward
the month's minutes for its engine and toward storage, and a session that
takes its owner over a quota is stopped, its text so far saved. Usage is
recorded when the session ends (transcripts.services.record_live_transcript),
so until then the sessions' own lengths are added here."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model

from realtime.models import LiveSession, LiveStatus
from transcripts import quotas
from transcripts.media.pcm import BYTES_PER_SECOND
from transcripts.models import Quota

STOPPED = "Your live session was stopped and saved. "


def quotas_apply() -> bool:
    """False when nobody has a minutes or storage limit (the usual case: one query)."""
    if settings.QUOTA_STORAGE_BYTES is not None or settings.QUOTA_MONTHLY_MINUTES:
        return True
    return Quota.objects.exclude(storage_bytes__isnull=True, monthly_minutes={}).exists()


def over_quota(recorded: dict[int, float]) -> dict[int, str]:
    """Of these active sessions (id: seconds recorded so far), those whose
    owner they take over a quota, with the message to stop them with."""
    if not recorded or not quotas_apply():
        return {}
    sessions = LiveSession.objects.filter(pk__in=recorded, status=LiveStatus.ACTIVE)
    by_owner: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for pk, owner_id, engine in sessions.values_list("pk", "owner_id", "engine"):
        by_owner[owner_id].append((pk, engine))
    stopped: dict[int, str] = {}
    for owner_id, owned in by_owner.items():
        message = owner_over_quota(owner_id, [(engine, recorded[pk]) for pk, engine in owned])
        if message:
            stopped.update(dict.fromkeys((pk for pk, _ in owned), message))
    return stopped


def owner_over_quota(owner_id: int, streaming: list[tuple[str, float]]) -> str:
    """The message if one user's live sessions (engine, seconds so far) take
    them over their minutes for an engine or their storage, else ""."""
    user = get_user_model()(pk=owner_id)
    limits = quotas.limits_for(user)
    seconds: dict[str, float] = defaultdict(float)
    for engine, length in streaming:
        seconds[engine] += length
    try:
        for engine, length in seconds.items():
            quotas.check_minutes(user, limits, engine, adding=length)
        quotas.check_storage(user, limits, adding=int(sum(seconds.values()) * BYTES_PER_SECOND))
    except quotas.QuotaExceeded as error:
        return STOPPED + str(error)
    return ""
