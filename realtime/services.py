"""Live session workflows: start, save each committed segment, end (into a
transcript with its recording, through transcripts.services), recover
sessions a crash left open, and live viewer links."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from realtime import gaps as live_gaps
from realtime import metering, recording
from realtime.models import LiveLink, LiveSegment, LiveSession, LiveStatus
from transcripts import quotas
from transcripts.document import canonical
from transcripts.engines.registry import is_configured, queue_for
from transcripts.languages import normalise_language
from transcripts.media.pcm import BYTES_PER_SECOND
from transcripts.models import Transcript, TranscriptResult
from transcripts.services import record_live_transcript

log = logging.getLogger(__name__)


class LiveRefused(Exception):
    """str(self) is the message for the page; `code` names the reason."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class SessionBusy(LiveRefused):
    """The session to resume is still held by a connection, perhaps one the
    server has not finished letting go of (or not yet seen drop); asking
    again may succeed."""

    def __init__(self, code: str, message: str, session_id: int):
        super().__init__(code, message)
        self.session_id = session_id


# --- starting -----------------------------------------------------------------


# How often a live consumer records that it is alive (realtime/pulse.py).
HEARTBEAT_SECONDS = 5.0
# A connection holding a session that has not beaten for this long is taken
# to be gone (its web process died), and the session may be resumed elsewhere.
SILENT_AFTER_SECONDS = 3 * HEARTBEAT_SECONDS
# How long a page coming back to its session keeps asking for it before a new
# session is started instead: at least until its old connection is taken to
# be gone (a dead process cannot hand the session over), plus one heartbeat
# for a beat written just before the process died. Shorter, a server dying
# mid-talk split the talk into two transcripts.
RESUME_WAIT_SECONDS = SILENT_AFTER_SECONDS + HEARTBEAT_SECONDS
# Audio the Live page keeps while it is away, to send once it is back: the
# resume wait, and as long again for a restarting server to answer at all.
PAGE_HOLD_SECONDS = 2 * RESUME_WAIT_SECONDS


def start_session(user, *, engine: str, language: str = "") -> LiveSession:
    """Open a session within the user's quota: live sessions at once, some
    of the month's minutes for the engine and some storage left. The user's
    row is locked so two sockets opened at once cannot both squeeze under it."""
    recover_stale_sessions(owner=user)
    with transaction.atomic():
        quotas.lock(user)
        check_live_quota(user, engine)
        session = LiveSession(owner=user, engine=engine, language=language[:16])
        session.title = f"Live session {timezone.localtime():%Y-%m-%d %H:%M}"
        session.recording_name = recording.storage_name(user.pk, session.uuid)
        session.save()
    return session


def check_live_quota(user, engine: str) -> None:
    limits = quotas.limits_for(user)
    active = live_sessions_open(user)
    if limits.live_sessions is not None and active >= limits.live_sessions:
        noun = "session" if active == 1 else "sessions"
        raise LiveRefused(
            "session_limit",
            f"You already have {active} live {noun} open; the limit is {limits.live_sessions}. "
            "Stop one to start another.",
        )
    if engine == "local":
        check_local_share(user)
    try:
        quotas.check_minutes(user, limits, engine, adding=0)
        quotas.check_storage(user, limits, adding=0)
    except quotas.QuotaExceeded as error:
        raise LiveRefused("quota", str(error)) from None


def check_local_share(user) -> None:
    """The local engine's live slots are few (LIVE_LOCAL_MAX_SESSIONS per
    process, each most of a core): one account may hold only
    LIVE_LOCAL_SESSIONS_PER_USER of them at once, across the site."""
    allowed = settings.LIVE_LOCAL_SESSIONS_PER_USER
    held = LiveSession.objects.filter(owner=user, status=LiveStatus.ACTIVE, engine="local").count()
    if held >= allowed:
        noun = "session" if allowed == 1 else "sessions"
        raise LiveRefused(
            "local_share",
            f"You already have {held} live {noun} on the local engine, the most one account may hold "
            "(the local engine's live slots are shared by everyone). Stop it to start another.",
        )


def live_sessions_open(user) -> int:
    return LiveSession.objects.filter(owner=user, status=LiveStatus.ACTIVE).count()


class Opened(NamedTuple):
    """A session a live connection is to stream into."""

    session: LiveSession
    next_index: int  # the number of the next committed segment
    previous_text: str  # the end of what the session had committed (context for the upstream)
    missed: list[dict]  # committed segments the resuming page has not shown


def open_session(user, *, engine: str, language: str, resume: str = "", shown: int | None = None) -> Opened:
    """A new session, or the one the page asks to resume (its connection
    dropped) with the segment numbering carried on and the segments the page
    missed (committed as the old connection finished)."""
    if resume:
        session = resume_session(user, resume)
        missed = segments_from(session.pk, shown) if shown is not None else []
        return Opened(session, next_segment_index(session.pk), last_committed_text(session.pk), missed)
    if not is_configured(engine):
        raise LiveRefused("not_configured", "Scribe is not configured on this server; choose the local engine.")
    return Opened(start_session(user, engine=engine, language=language), 0, "", [])


def resume_session(user, session_uuid: str) -> LiveSession:
    """Take a session over again after the browser's connection dropped: its
    consumer detached it, or died with its server so that nothing has beaten
    for it for three heartbeats. Only the owner may, and only while it is live."""
    refused = LiveRefused("not_resumable", "The earlier live session cannot be continued; starting a new one.")
    try:
        key = uuid.UUID(session_uuid)
    except ValueError:
        raise refused from None
    silent = timezone.now() - timedelta(seconds=SILENT_AFTER_SECONDS)
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().filter(owner=user, uuid=key, status=LiveStatus.ACTIVE).first()
        if session is None:
            raise refused
        if session.attached and session.heartbeat > silent:
            raise SessionBusy(refused.code, str(refused), session.pk)
        session.attached, session.heartbeat, session.release_requested = True, timezone.now(), False
        session.save(update_fields=["attached", "heartbeat", "release_requested"])
    return session


def detach_session(session_id: int, *, gaps: list[dict] | None = None, transcribed_until: float | None = None) -> None:
    """The browser dropped off without stopping: keep the session for it to
    resume. If it never does, recovery saves it after LIVE_STALE_SECONDS.
    `gaps`: the parts of the recording this connection left without text."""
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().filter(pk=session_id, status=LiveStatus.ACTIVE).first()
        if session is None:
            return
        session.attached, session.gaps = False, live_gaps.merged(session.gaps, gaps or [])
        if transcribed_until is not None:
            session.transcribed_until = max(session.transcribed_until, transcribed_until)
        session.save(update_fields=["attached", "gaps", "transcribed_until"])


def segments_from(session_id: int, index: int) -> list[dict]:
    """The committed segments from `index` on, as the page's captions."""
    segments = LiveSegment.objects.filter(session_id=session_id, index__gte=index).order_by("index")
    return [dict(row) for row in segments.values("index", "text", "start", "end")]


def last_committed_text(session_id: int, segments: int = 3) -> str:
    """The text of the session's last few committed segments, in order."""
    texts = LiveSegment.objects.filter(session_id=session_id).order_by("-index").values_list("text", flat=True)
    return " ".join(reversed(texts[:segments]))


def next_segment_index(session_id: int) -> int:
    last = LiveSegment.objects.filter(session_id=session_id).aggregate(last=Max("index"))["last"]
    return 0 if last is None else last + 1


def request_release(session_id: int) -> None:
    """Ask the connection holding this session to hand it over (its page is
    back on another connection); see heartbeat()."""
    LiveSession.objects.filter(pk=session_id, status=LiveStatus.ACTIVE).update(release_requested=True)


class Beat(NamedTuple):
    watched: set[int]  # sessions someone holds a usable viewer link for
    released: set[int]  # sessions their page resumes on another connection
    over_quota: dict[int, str] = {}  # sessions that took their owner over a quota: why


def heartbeat(session_ids: list[int], recorded: dict[int, float] | None = None) -> Beat:
    """Record that these sessions are alive and learn which are watched and
    which are to be handed over: three small queries for any number of
    sessions. (Their recorded length is saved when they end: writing it here
    as a CASE over 200 ids took 80-160 ms of ORM work, in a thread that held
    the interpreter lock away from the audio.) With `recorded` (id: seconds
    so far), also which sessions took their owner over a quota (one more
    query when nobody has such a limit; realtime/metering.py)."""
    if not session_ids:
        return Beat(set(), set())
    sessions = LiveSession.objects.filter(pk__in=session_ids, status=LiveStatus.ACTIVE)
    sessions.update(heartbeat=timezone.now())
    released = set(sessions.filter(release_requested=True).values_list("pk", flat=True))
    return Beat(watched(session_ids), released, metering.over_quota(recorded or {}))


def watched(session_ids: list[int]) -> set[int]:
    """Those of these sessions that someone holds a usable viewer link for
    (their captions go to the viewers' group)."""
    return set(LiveLink.objects.usable().filter(session_id__in=session_ids).values_list("session_id", flat=True))


def append_segment(
    session_id: int,
    index: int,
    text: str,
    words: list[dict] | None,
    start: float,
    end: float,
    transcribed_until: float | None = None,
    *,
    language: str = "",
) -> bool:
    """Save one committed segment (and how far the session's audio now has
    text); a repeat of the same index is a no-op."""
    try:
        with transaction.atomic():
            LiveSegment.objects.create(
                session_id=session_id,
                index=index,
                text=text,
                words=words,
                start=start,
                end=end,
                language=normalise_language(language),
            )
            if transcribed_until is not None:
                LiveSession.objects.filter(pk=session_id).update(
                    transcribed_until=Greatest("transcribed_until", Value(transcribed_until))
                )
    except IntegrityError:
        return False
    return True


# --- ending -------------------------------------------------------------------


def end_session(
    session_id: int,
    *,
    error: str = "",
    gaps: list[dict] | None = None,
    transcribed_until: float | None = None,
    recovered: bool = False,
) -> Transcript | None:
    """Turn the session into a finished transcript with its WAV recording.
    Idempotent: a second call (the browser's stop racing its disconnect,
    recovery racing a slow consumer) returns the transcript already made.
    `gaps`: the parts of the recording the last connection left without text;
    `recovered`: nobody knows, so everything after `transcribed_until` is
    one. A session with gaps is saved incomplete, and they are filled from
    the recording by a batch pass (realtime/gaps.py) once this commits."""
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None:
            return None
        if session.status == LiveStatus.ENDED:
            return session.transcript
        data_bytes, size, name = recording.finalize(session.recording_name)
        if transcribed_until is not None:
            session.transcribed_until = max(session.transcribed_until, transcribed_until)
        found: list[dict | None] = list(gaps or [])
        if recovered:
            found.append(live_gaps.gap(session.transcribed_until, data_bytes / BYTES_PER_SECOND))
        session.gaps = live_gaps.merged(session.gaps, found)
        transcript = record_live_transcript(
            owner_id=session.owner_id,
            title=session.title,
            engine=session.engine,
            language=session.language,
            recording_name=name,
            recording_size=size,
            audio_bytes=data_bytes,
            words=session_transcript(session),
            started_at=session.started,
        )
        now = timezone.now()
        session.status, session.ended_at, session.transcript = LiveStatus.ENDED, now, transcript
        if session.incomplete and not error:
            error = live_gaps.incomplete_message(session.gaps)
        session.audio_bytes, session.error = data_bytes, error[:1000]
        session.save(
            update_fields=["status", "ended_at", "transcript", "audio_bytes", "error", "gaps", "transcribed_until"]
        )
        if session.incomplete:
            transaction.on_commit(lambda: queue_gap_filling(session))
    return transcript


def requeue_gap_filling(now=None) -> int:
    """Sessions saved with gaps that no batch pass has filled after a while
    (the broker was down when they ended, or every retry failed): queued
    again, for a day."""
    now = now or timezone.now()
    rows = LiveSession.objects.filter(
        status=LiveStatus.ENDED, ended_at__lt=now - timedelta(minutes=10), ended_at__gt=now - timedelta(days=1)
    ).exclude(gaps=[])
    waiting = [session for session in rows.only("pk", "engine", "gaps") if session.incomplete]
    for session in waiting:
        queue_gap_filling(session)
    return len(waiting)


def queue_gap_filling(session: LiveSession) -> None:
    from realtime.tasks import fill_live_gaps

    try:
        fill_live_gaps.apply_async(args=[session.pk], queue=queue_for(session.engine))
    except Exception:  # the broker is down: the sweep (recover_live_sessions) queues it again
        log.exception("Could not queue the gap filling of live session %s", session.pk)


def session_transcript(session: LiveSession) -> dict:
    """The committed segments as one canonical transcript. Segments that came
    without word timings get words spread evenly over the segment."""
    tokens_: list[dict] = []
    segments = list(session.segments.all())
    language = session.language or detected_language(segments)
    for segment in segments:
        words = [w for w in (segment.words or []) if w.get("type") != "spacing"]
        if words:
            tokens_.extend(_normalised(word) for word in words)
        else:
            tokens_.extend(_spread(segment))
    return canonical.build(canonical.with_spacing(tokens_), language_code=normalise_language(language))


def detected_language(segments: list[LiveSegment]) -> str:
    """The language most of the session's text was detected in ("" when the
    engine never said: unknown, not a guess)."""
    spoken = Counter(segment.language for segment in segments if segment.language)
    return spoken.most_common(1)[0][0] if spoken else ""


def _normalised(word: dict) -> dict:
    token = {
        "text": word.get("text", ""),
        "start": float(word.get("start") or 0),
        "end": float(word.get("end") or 0),
        "type": word.get("type") or "word",
        "speaker_id": word.get("speaker_id") or "speaker_0",
        "logprob": float(word.get("logprob") or 0.0),
    }
    return token


def _spread(segment: LiveSegment) -> list[dict]:
    parts = segment.text.split()
    if not parts:
        return []
    step = max(segment.end - segment.start, 0.0) / len(parts)
    return [
        {
            "text": part,
            "start": round(segment.start + i * step, 3),
            "end": round(segment.start + (i + 1) * step, 3),
            "type": "word",
            "speaker_id": "speaker_0",
            "logprob": 0.0,
        }
        for i, part in enumerate(parts)
    ]


def recover_stale_sessions(owner=None) -> int:
    """End sessions whose consumer vanished (a server restart, a killed
    process): everything committed and recorded so far becomes a transcript."""
    stale = timezone.now() - timedelta(seconds=settings.LIVE_STALE_SECONDS)
    rows = LiveSession.objects.filter(status=LiveStatus.ACTIVE, heartbeat__lt=stale)
    if owner is not None:
        rows = rows.filter(owner=owner)
    count = 0
    for session_id in rows.values_list("pk", flat=True):
        try:
            end_session(
                session_id,
                error="The live session ended unexpectedly; everything up to then was saved.",
                recovered=True,
            )
            count += 1
        except Exception:
            log.exception("Could not recover live session %s", session_id)
    return count


# --- live viewer links ---------------------------------------------------------


@dataclass
class NewLink:
    link: LiveLink
    token: str  # shown to the owner once


def create_link(session: LiveSession, *, expires_in: timedelta | None = None) -> NewLink:
    """A viewer link; it expires after `expires_in`, by default LIVE_LINK_HOURS
    (a link that never expires would outlive anyone's memory of it)."""
    lifetime = expires_in or timedelta(hours=settings.LIVE_LINK_HOURS)
    return NewLink(*LiveLink.issue(session=session, expires_at=timezone.now() + lifetime))


def session_for_token(token: str) -> LiveSession | None:
    """The session a viewer token opens, or None when unknown, revoked or expired."""
    link = link_for_token(token)
    return link.session if link else None


def link_for_token(token: str) -> LiveLink | None:
    """The usable link a viewer token opens, with its session."""
    return LiveLink.objects.for_token(token).select_related("session").first()


def link_usable(link_id: int) -> bool:
    return LiveLink.objects.usable().filter(pk=link_id).exists()


def viewer_text(session: LiveSession) -> list[str]:
    """What a viewer is shown: the captions while the session is live; after
    it, the saved transcript's text as it is now (edited, redacted), never
    the captions as they were first committed."""
    if session.is_active:
        return list(session.segments.values_list("text", flat=True))
    if session.transcript_id is None:
        return []
    text = TranscriptResult.objects.filter(transcript_id=session.transcript_id).values_list("text", flat=True).first()
    return [text] if text else []


def discard_session(session_id: int) -> None:
    """Remove a session that never recorded anything (its upstream failed to
    open, say), so it does not leave an empty transcript behind."""
    session = LiveSession.objects.filter(pk=session_id, status=LiveStatus.ACTIVE).first()
    if session is None or session.segments.exists():
        return
    recording.discard(session.recording_name)
    session.delete()
