"""The live relay: one live session's audio from a page to a speech service
and its captions back, in plain asyncio (no Channels, no JSON, no sockets).

A `LiveRelay` is driven by its consumer (realtime/live.py), which owns the
browser protocol: `start()` opens the session (new or resumed) and the
upstream, `accept(pcm)` takes each checked audio frame, `end(how)` ends it
whichever way, and `disconnected(code)` says the page's socket is gone. It
talks to three typed collaborators: the `Upstream` (Scribe realtime or the
local engine), a `Store` (the database side, realtime/store.py) and a
`Sink` (what the page is told), plus the session's `Viewers`.

Audio from the page lands in a bounded buffer (LIVE_MAX_BUFFER_SECONDS)
drained by a pump task, because Daphne queues inbound frames without bound:
when the upstream is slow the relay ends with BUFFER_FULL instead of
growing. Every accepted frame is also appended to the session's WAV (which
the upstream reads back to replay what was not committed after a
reconnect), and every committed segment is saved as it arrives.

No audio is left without text. The upstream reports how far its text lags
the audio (`Lag`): past LIVE_LAG_NOTICE_SECONDS the page is told "Captions
are N s behind"; past LIVE_MAX_BUFFER_SECONDS the captions pause (the
upstream finishes its backlog, the recording goes on). Stop waits up to
LIVE_STOP_WAIT_SECONDS for the last text. Whatever part of the recording
the upstream never gave text for is, at the end, a gap: the page is told,
the session is saved incomplete, and a batch pass fills it from the
recording (realtime/gaps.py). A page that drops (rather
than closes) leaves its session detached, to be resumed with the segment
numbering carried on; a connection still holding it is asked to hand it
over (at once in this process, at its next heartbeat in another).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

from django.conf import settings

from realtime import gaps
from realtime.pulse import pulse
from realtime.recording import RecordingWriter
from realtime.services import RESUME_WAIT_SECONDS, LiveRefused, Opened, SessionBusy
from realtime.silence import is_silence
from realtime.upstreams import (
    Committed,
    Event,
    Failure,
    Lag,
    Partial,
    Status,
    Upstream,
    UpstreamError,
    UpstreamFactory,
    make_upstream,
)
from transcripts.media.pcm import BYTES_PER_SECOND

# The recording's last seconds given to a resumed session's upstream as
# context (the local engine hears them again; Scribe takes text instead).
RESUME_CONTEXT_SECONDS = 4.0

log = logging.getLogger(__name__)

RESUME_POLL_SECONDS = 0.2
# After a drop or a hand-over the upstream is finished within Daphne's
# application close timeout (10 s), after which Daphne cancels the consumer.
DROP_DRAIN_SECONDS = 3.0
DROP_FINISH_SECONDS = 6.0


class LiveOptions(NamedTuple):
    engine: str
    language: str
    resume: str = ""  # the session to go on with, after a dropped connection
    shown: int | None = None  # committed segments the resuming page has shown
    keyterms: tuple[str, ...] = ()  # names and jargon to listen for (Scribe), as on the upload page
    # A microphone sends in real time, so a backlog is the speech service
    # falling behind (captions pause past LIVE_MAX_BUFFER_SECONDS). A Scribe
    # API client may send a file faster than real time: its backlog is its
    # own pace, and it waits for its text as Scribe's own socket lets it.
    paced_by_client: bool = False


@dataclass(frozen=True)
class Segment:
    """A committed caption as the page and the viewers see it."""

    index: int
    text: str
    start: float
    end: float
    language: str = ""  # what the engine detected, when it says


@dataclass(frozen=True)
class Commit:
    """A client's commit, queued in the audio buffer behind the audio before it."""

    done: Callable[[], Awaitable[None]]


class RelayState(enum.Enum):
    OPENING = "opening"  # the session and the upstream are being opened
    STREAMING = "streaming"  # audio is accepted
    ENDING = "ending"  # one ending is under way; audio is ignored
    ENDED = "ended"  # the session is saved, detached, or was never opened


class Ending(enum.Enum):
    STOP = "stop"  # the page pressed stop
    IDLE = "idle"  # no audio for LIVE_IDLE_TIMEOUT
    SILENCE = "silence"  # nothing but silence for LIVE_SILENCE_TIMEOUT
    QUOTA = "quota"  # the session took its owner over a quota (realtime/metering.py)
    SESSION_LIMIT = "session_limit"  # the recording reached LIVE_MAX_SESSION_SECONDS
    UPSTREAM_FAILED = "upstream_failed"  # a fatal error from the speech service
    BUFFER_FULL = "buffer_full"  # the upstream fell LIVE_MAX_BUFFER_SECONDS behind
    FRAME_TOO_LARGE = "frame_too_large"
    MALFORMED_FRAME = "malformed_frame"
    DROPPED = "dropped"  # the page's connection broke: detach, for it to resume
    PAGE_LEFT = "page_left"  # the page closed its socket on purpose: save
    HANDED_OVER = "handed_over"  # the page resumed the session on another connection
    CLIENT_ERROR = "client_error"  # an API client broke its protocol (it was told why): keep what came before


@dataclass(frozen=True)
class Plan:
    """What one kind of ending does, in order: tell the page why, deal with
    the upstream, end or detach the session, tell the page, close."""

    notice: tuple[str, str] | None  # (code, message) of the error the page is sent first
    upstream: Literal["commit", "discard", "bounded"]
    session: Literal["end", "detach"]
    saves_error: bool = False  # the message is kept on the session as its error
    tells_ended: bool = False  # the page is sent the saved transcript
    closes: bool = True  # the page's socket is closed (it is gone already after a drop)
    taken_over: bool = False  # the page is told another connection took the session


TAKEN_OVER = ("taken_over", "This live session went on in another connection.")
PLANS: dict[Ending, Plan] = {
    Ending.STOP: Plan(None, "commit", "end", tells_ended=True),
    Ending.IDLE: Plan(
        ("idle", "No audio arrived for a while, so the session was stopped and saved."),
        "commit",
        "end",
        tells_ended=True,
    ),
    Ending.SILENCE: Plan(
        (
            "silence",
            "Nothing but silence arrived for a while (is the microphone muted?), so the session was stopped and saved.",
        ),
        "commit",
        "end",
        tells_ended=True,
    ),
    Ending.QUOTA: Plan(
        ("quota", "You reached your quota, so the live session was stopped and saved."),
        "commit",
        "end",
        saves_error=True,
        tells_ended=True,
    ),
    Ending.SESSION_LIMIT: Plan(
        ("session_limit", "This live session reached the maximum length. It was saved."),
        "commit",
        "end",
        tells_ended=True,
    ),
    # The upstream's error was already relayed as it came.
    Ending.UPSTREAM_FAILED: Plan(None, "discard", "end", saves_error=True, tells_ended=True),
    Ending.BUFFER_FULL: Plan(
        (
            "buffer_full",
            "The speech service is not keeping up, so the session was stopped and saved. Try again in a moment.",
        ),
        "discard",
        "end",
        saves_error=True,
    ),
    Ending.FRAME_TOO_LARGE: Plan(
        ("frame_too_large", "An audio frame was larger than the server accepts."), "discard", "end", saves_error=True
    ),
    Ending.MALFORMED_FRAME: Plan(
        ("malformed_frame", "The page sent a message the server does not understand."),
        "discard",
        "end",
        saves_error=True,
    ),
    Ending.DROPPED: Plan(None, "bounded", "detach", closes=False),
    Ending.PAGE_LEFT: Plan(None, "bounded", "end", closes=False),
    Ending.HANDED_OVER: Plan(None, "bounded", "detach", taken_over=True),
    Ending.CLIENT_ERROR: Plan(None, "commit", "end", saves_error=True),
}


class Store(Protocol):
    """The database side of a live session (realtime/store.py)."""

    async def open(self, user, options: LiveOptions) -> Opened: ...

    async def request_release(self, session_id: int) -> None: ...

    async def forget(self, session_id: int, *, resumed: bool) -> None: ...

    async def watched(self, session_id: int) -> bool: ...

    async def append(
        self, session_id: int, segment: Segment, words: list[dict] | None, transcribed_until: float | None = None
    ) -> None: ...

    async def end(
        self, session_id: int, *, error: str, gaps: list[dict] | None = None, transcribed_until: float | None = None
    ) -> int | None: ...

    async def detach(
        self, session_id: int, *, gaps: list[dict] | None = None, transcribed_until: float | None = None
    ) -> None: ...


class Sink(Protocol):
    """What the page streaming the audio is told."""

    async def ready(self, session_uuid: str, options: LiveOptions) -> None: ...

    async def partial(self, text: str) -> None: ...

    async def committed(self, segment: Segment, words: list[dict] | None = None) -> None: ...

    async def status(self, state: str, message: str) -> None: ...

    async def error(self, code: str, message: str, *, fatal: bool = True) -> None: ...

    async def ended(self, transcript_id: int) -> None: ...

    async def close_page(self, how: Ending) -> None: ...


class Viewers(Protocol):
    """The people watching the session through a live link."""

    async def partial(self, text: str) -> None: ...

    async def committed(self, segment: Segment) -> None: ...

    async def ended(self) -> None: ...


class LiveRelay:
    def __init__(
        self,
        *,
        store: Store,
        sink: Sink,
        viewers: Callable[[uuid.UUID], Viewers],
        upstreams: UpstreamFactory = make_upstream,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store, self.sink, self.viewers_for, self.upstreams, self.clock = store, sink, viewers, upstreams, clock
        self.viewers: Viewers | None = None
        self.state = RelayState.OPENING
        self.buffer: deque[bytes | Commit] = deque()
        self.buffered = 0
        self.wake = asyncio.Event()
        self.last_audio = clock()
        self.last_sound = clock()  # the last frame that was not silence
        self.watched = False  # someone holds a usable viewer link (learnt at each heartbeat)
        self.pump: asyncio.Task | None = None
        self.ending: asyncio.Task | None = None
        self.opened: Opened | None = None
        self.recording: RecordingWriter | None = None
        self.upstream: Upstream | None = None
        self.lag_shown = 0  # whole seconds of caption lag the page was last told (0: none)
        self.paused = False  # the upstream fell too far behind: audio is only recorded
        self.winding: asyncio.Task | None = None  # the paused upstream finishing its backlog
        self.missed: list[dict] = []  # gaps left by upstreams replaced after a pause
        self.pauses_when_behind = True

    @property
    def session_id(self) -> int:
        assert self.opened is not None
        return self.opened.session.pk

    @property
    def streaming(self) -> bool:
        return self.state is RelayState.STREAMING

    # --- opening ---------------------------------------------------------------------

    async def start(self, user, options: LiveOptions) -> None:
        """Open the session and its upstream, then tell the page; raises
        LiveRefused (for the page) when either cannot be opened."""
        try:
            self.opened = opened = await self.take_session(user, options)
            self.pauses_when_behind = not options.paced_by_client
        except LiveRefused:
            self.state = RelayState.ENDED
            raise
        session = opened.session
        self.viewers = self.viewers_for(session.uuid)
        self.recording = RecordingWriter(session.recording_name)
        self.upstream = self.upstreams(
            session.engine,
            language=session.language,
            emit=self.on_event,
            position=self.recorded_seconds,
            previous_text=opened.previous_text,
            keyterms=options.keyterms,
            context=self.recording.tail(int(RESUME_CONTEXT_SECONDS * BYTES_PER_SECOND)),
            replay=self.recording.read,
        )
        try:
            await self.upstream.start()
        except UpstreamError as error:
            self.state = RelayState.ENDED
            self.recording.close()
            # A resumed session keeps what it had, for another try or for recovery.
            await self.store.forget(session.pk, resumed=bool(options.resume))
            raise LiveRefused(error.code, str(error)) from error
        self.watched = await self.store.watched(session.pk)
        self.pump = asyncio.create_task(self.pump_audio())
        self.state = RelayState.STREAMING
        pulse().join(self)
        await self.sink.ready(str(session.uuid), options._replace(engine=session.engine, language=session.language))
        for segment in opened.missed:
            await self.sink.committed(Segment(**segment))

    async def take_session(self, user, options: LiveOptions) -> Opened:
        """store.open, waiting up to RESUME_WAIT_SECONDS for a session
        being resumed to be let go by its old connection. The page notices a
        drop and is back within a second or two, often while the server is
        still sending the old connection's last audio upstream, or before it
        has seen the drop at all: the old connection is asked to hand over.
        If its process died, nobody hands over: the wait outlasts its silence."""
        deadline = self.clock() + RESUME_WAIT_SECONDS
        asked = False
        while True:
            try:
                return await self.store.open(user, options)
            except SessionBusy as busy:
                if self.clock() >= deadline:
                    raise
                if not asked:
                    asked = True
                    await self.store.request_release(busy.session_id)
                    pulse().release(busy.session_id)
                await asyncio.sleep(RESUME_POLL_SECONDS)

    # --- from the page ---------------------------------------------------------------

    def accept(self, pcm: bytes) -> None:
        """A checked frame of PCM16 from the page: into the recording and the
        buffer, or the end of the session when the buffer is full."""
        if not self.streaming:
            return
        self.last_audio = self.clock()
        if not is_silence(pcm):
            self.last_sound = self.last_audio
        if not self.paused and self.buffered + len(pcm) > settings.LIVE_MAX_BUFFER_SECONDS * BYTES_PER_SECOND:
            self.end(Ending.BUFFER_FULL)
            return
        assert self.recording is not None
        self.recording.write(pcm)
        if self.paused:  # captions are paused; the recording is filled in at the end
            return
        self.buffer.append(pcm)
        self.buffered += len(pcm)
        self.wake.set()

    async def disconnected(self, code: int, page_left: bool) -> None:
        """The page's socket is gone: an ending under way completes; otherwise
        the upstream commits what it has and the session is saved (the page
        left) or detached (the connection dropped)."""
        if self.state is RelayState.STREAMING:
            self.end(Ending.PAGE_LEFT if page_left else Ending.DROPPED)
        if self.ending is not None:
            await asyncio.shield(self.ending)

    def context(self, text: str) -> None:
        """What was said before this session (a client's previous_text), for
        the upstream to hear the first words in context; before any audio."""
        if self.streaming and self.upstream is not None:
            self.upstream.context(text)

    def commit(self, done: Callable[[], Awaitable[None]]) -> None:
        """Have the upstream commit everything accepted so far (a client's
        manual commit): queued behind the audio already accepted, so that
        all of it goes upstream first; `done` is awaited once the upstream
        has committed it and its text has reached the sink, before any later
        audio is sent."""
        if self.streaming:
            self.buffer.append(Commit(done))
            self.wake.set()

    # --- to the upstream -------------------------------------------------------------

    async def pump_audio(self) -> None:
        """Drain the buffer into the upstream, in order."""
        assert self.upstream is not None
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.buffer:
                item = self.buffer[0]
                if isinstance(item, Commit):
                    await self.commit_upstream(item)
                else:
                    await self.upstream.send(item)
                    self.buffered -= len(item)
                self.buffer.popleft()

    async def commit_upstream(self, commit: Commit) -> None:
        assert self.upstream is not None
        try:
            await self.upstream.commit()
        except Exception:  # the session goes on; its text comes with the next commit or the end
            log.exception("Live session %s: the upstream did not commit", self.session_id)
        await commit.done()

    async def drain(self, timeout: float) -> None:
        deadline = self.clock() + timeout
        while self.buffer and self.clock() < deadline:
            await asyncio.sleep(0.02)

    # --- from the upstream -----------------------------------------------------------

    async def on_event(self, event: Event) -> None:
        if isinstance(event, Partial):
            await self.sink.partial(event.text)
            if self.watched and self.viewers is not None:
                await self.viewers.partial(event.text)
        elif isinstance(event, Committed):
            await self.on_committed(event)
        elif isinstance(event, Status):
            await self.sink.status(event.state, event.message)
        elif isinstance(event, Lag):
            await self.on_lag(event.seconds)
        elif isinstance(event, Failure):
            await self.sink.error(event.code, event.message, fatal=event.fatal)
            if event.fatal:
                self.end(Ending.UPSTREAM_FAILED, event.message)

    async def on_committed(self, event: Committed) -> None:
        text = event.text.strip()
        if not text and not event.words:
            return
        assert self.opened is not None
        segment = Segment(self.opened.next_index, text, event.start, event.end, event.language or "")
        self.opened = self.opened._replace(next_index=segment.index + 1)
        await self.store.append(self.session_id, segment, event.words, self.transcribed_until)
        await self.sink.committed(segment, event.words)
        if self.watched and self.viewers is not None:
            await self.viewers.committed(segment)

    @property
    def transcribed_until(self) -> float:
        assert self.upstream is not None
        return self.upstream.transcribed_until

    async def on_lag(self, seconds: float) -> None:
        """Say how far behind the captions are, once it is noticeable; past
        LIVE_MAX_BUFFER_SECONDS pause them rather than fall further behind."""
        if self.paused or not self.streaming:
            return
        if seconds >= settings.LIVE_MAX_BUFFER_SECONDS and self.pauses_when_behind:
            self.pause_captions(seconds)
            return
        shown = int(seconds) if seconds >= settings.LIVE_LAG_NOTICE_SECONDS else 0
        if shown != self.lag_shown:
            self.lag_shown = shown
            if shown:
                await self.sink.status("behind", f"Captions are {shown} s behind.")
            else:
                await self.sink.status("connected", "Captions have caught up.")

    def pause_captions(self, seconds: float) -> None:
        """The speech service cannot keep up: stop sending it audio (it still
        finishes the backlog it has), keep recording, and fill the rest from
        the recording when the session ends."""
        self.paused = True
        self.winding = asyncio.create_task(self.wind_down(seconds))

    async def wind_down(self, seconds: float) -> None:
        """Let the slow upstream finish its backlog, then go on with a fresh
        one from where the recording is (unless the session is ending): the
        stretch in between is a gap, filled from the recording at the end."""
        assert self.upstream is not None
        log.info("Live session %s: captions paused, %.0f s behind", self.session_id, seconds)
        await self.sink.error(
            "captions_paused",
            f"Live captions are paused: the speech service fell {int(seconds)} s behind. The recording goes on, "
            "and everything the captions miss is transcribed from it when you stop.",
            fatal=False,
        )
        self.stop_pump()
        self.buffer.clear()
        self.buffered = 0
        slow = self.upstream
        try:
            await slow.finish(settings.LIVE_STOP_WAIT_SECONDS)
        except Exception:
            log.exception("Live session %s: the paused upstream did not finish cleanly", self.session_id)
        if self.streaming:
            await self.resume_captions(slow)

    async def resume_captions(self, slow: Upstream) -> None:
        assert self.opened is not None and self.recording is not None
        position = self.recorded_seconds
        missed = gaps.gap(slow.transcribed_until, position)
        if missed is not None:
            self.missed.append(missed)
        session = self.opened.session
        self.upstream = self.upstreams(
            session.engine, language=session.language, emit=self.on_event, position=position, replay=self.recording.read
        )
        self.paused, self.lag_shown = False, 0  # from here the audio waits in the buffer for it
        try:
            await self.upstream.start()
        except UpstreamError as error:
            log.info("Live session %s: captions stay paused (%s)", self.session_id, error.code)
            self.paused = True
            self.buffer.clear()
            self.buffered = 0
            return
        self.pump = asyncio.create_task(self.pump_audio())
        await self.sink.status("connected", "Live captions are back.")

    # --- the heartbeat (realtime/pulse.py) ---------------------------------------------

    def on_heartbeat(self, watched: bool) -> None:
        self.watched = watched
        assert self.recording is not None
        if self.clock() - self.last_audio > settings.LIVE_IDLE_TIMEOUT:
            self.end(Ending.IDLE)
        elif self.clock() - self.last_sound > settings.LIVE_SILENCE_TIMEOUT:
            self.end(Ending.SILENCE)
        elif self.recording.bytes >= settings.LIVE_MAX_SESSION_SECONDS * BYTES_PER_SECOND:
            self.end(Ending.SESSION_LIMIT)

    @property
    def recorded_seconds(self) -> float:
        return self.recording.bytes / BYTES_PER_SECOND if self.recording is not None else 0.0

    def on_over_quota(self, message: str) -> None:
        self.end(Ending.QUOTA, message)

    def on_release(self) -> None:
        """The page came back on another connection (this one dropped without
        the server seeing it yet): let it have the session."""
        self.end(Ending.HANDED_OVER)

    # --- ending ------------------------------------------------------------------------

    def end(self, how: Ending, message: str = "") -> asyncio.Task | None:
        """Begin the one ending of this relay; later calls return the same
        ending (or None if the relay never streamed)."""
        if self.state is RelayState.STREAMING:
            self.state = RelayState.ENDING
            self.ending = asyncio.create_task(self.run_ending(how, message))
        return self.ending

    async def run_ending(self, how: Ending, message: str) -> None:
        plan = PLANS[how]
        if plan.notice is not None:
            code, default = plan.notice
            message = message or default
            log.info("Live session %s closed: %s", self.session_id, code)
            await self.sink.error(code, message)
        await self.settle_upstream(plan)
        assert self.recording is not None
        covered = self.transcribed_until
        found = gaps.merged([], [*self.missed, gaps.gap(covered, self.recorded_seconds)])
        if plan.session == "detach":
            self.let_go()
            await self.store.detach(self.session_id, gaps=found, transcribed_until=covered)
        else:
            if found:
                await self.sink.error("incomplete", gaps.incomplete_message(found), fatal=False)
            transcript_id = await self.save(
                error=message if plan.saves_error else "", gaps=found, transcribed_until=covered
            )
            if plan.tells_ended and transcript_id is not None:
                await self.sink.ended(transcript_id)
        if plan.taken_over:
            await self.sink.error(*TAKEN_OVER)
        if plan.closes:
            await self.sink.close_page(how)

    async def settle_upstream(self, plan: Plan) -> None:
        try:
            await self.finish_upstream(plan)
        except Exception:  # whatever the upstream does, the session is still saved
            log.exception("Live session %s: the upstream did not finish cleanly", self.session_id)

    async def finish_upstream(self, plan: Plan) -> None:
        """Whatever the plan, the upstream ends closed (none left open)."""
        await self.settle_winding(plan)
        assert self.upstream is not None
        if self.paused:  # the paused upstream finished (or was stopped) in its winding
            return
        if plan.upstream == "commit":  # send the last audio and wait for its text, as long as the backlog needs
            deadline = self.clock() + settings.LIVE_STOP_WAIT_SECONDS
            await self.tell_backlog()
            await self.drain(settings.LIVE_STOP_WAIT_SECONDS)
            await self.upstream.finish(max(deadline - self.clock(), 1.0))
        elif plan.upstream == "discard":
            self.stop_pump()
            await self.upstream.close()
        else:  # bounded: the page is gone or elsewhere, and Daphne will not wait long
            await self.drain(DROP_DRAIN_SECONDS)
            # The upstream's own wait ends early enough for its close to begin in
            # time; once it has begun, a socket a reconnect opens is shut at once.
            work = asyncio.ensure_future(self.upstream.finish(DROP_FINISH_SECONDS - 2))
            try:
                await asyncio.wait_for(asyncio.shield(work), DROP_FINISH_SECONDS)
            except TimeoutError:
                work.cancel()

    async def settle_winding(self, plan: Plan) -> None:
        """A paused upstream still finishing: Stop waits for it (bounded by its
        own wait); any other ending stops it (its close still runs)."""
        winding = self.winding
        if winding is None or winding.done():
            return
        if plan.upstream == "commit":
            await asyncio.wait_for(asyncio.shield(winding), settings.LIVE_STOP_WAIT_SECONDS + 10)
        else:
            winding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await winding

    async def tell_backlog(self) -> None:
        """A Stop that has to wait for a backlog says so, instead of looking stuck."""
        assert self.recording is not None
        backlog = self.recorded_seconds - self.transcribed_until
        if backlog >= settings.LIVE_LAG_NOTICE_SECONDS:
            await self.sink.status("finishing", f"Waiting for the captions of the last {int(backlog)} s of audio…")

    async def save(
        self, *, error: str, gaps: list[dict] | None = None, transcribed_until: float | None = None
    ) -> int | None:
        """The session as a transcript; the viewers are told it ended."""
        self.let_go()
        transcript_id = await self.store.end(
            self.session_id, error=error, gaps=gaps, transcribed_until=transcribed_until
        )
        if self.viewers is not None:
            await self.viewers.ended()
        return transcript_id

    def let_go(self) -> None:
        """This relay's part in the session is over."""
        self.state = RelayState.ENDED
        pulse().leave(self)
        self.stop_pump()
        assert self.recording is not None
        self.recording.close()

    def stop_pump(self) -> None:
        if self.pump is not None:
            self.pump.cancel()
