"""The live captions consumer: browser microphone PCM in, captions out.

The consumer owns its upstream (Scribe realtime or the local engine) in its
own tasks; audio never goes through the channel layer. Only captions are
sent to the viewers' group. Audio from the browser lands in a bounded
buffer (LIVE_MAX_BUFFER_SECONDS) drained by a sender task, because Daphne
queues inbound frames without bound: when the upstream is slow the socket
is closed with 1013 instead of growing. Every frame is also appended to the
session's WAV, and every committed segment is saved as it arrives. A socket
that drops (rather than closes) leaves its session detached, for the page to
reconnect with ?resume=<session> and go on (a connection still holding it
is asked to hand it over); recovery saves it otherwise.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import deque
from typing import NamedTuple
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.urls import reverse

from realtime import services
from realtime.models import LiveSession
from realtime.pulse import pulse
from realtime.recording import RecordingWriter
from realtime.upstreams import Committed, Failure, Partial, Status, UpstreamError, make_upstream
from transcripts.engines.registry import default_engine, is_configured
from transcripts.media.pcm import BYTES_PER_SECOND

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_REFUSED = 4429
CLOSE_TRY_AGAIN = 1013
CLOSE_TOO_BIG = 1009
CLOSE_UNSUPPORTED = 1003
CLOSE_TAKEN_OVER = 4409
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# Close codes of a page that closed its socket on purpose (closed, navigated
# away); any other end of the connection is a drop the page may come back from.
PAGE_LEFT = (1000, 1001)


class LiveOptions(NamedTuple):
    engine: str
    language: str
    resume: str  # the session to go on with, after a dropped connection
    shown: int | None  # committed segments the resuming page has shown


def live_options(scope) -> LiveOptions:
    """The socket's query string: ?engine=&language=[&resume=&shown=]."""
    query = {key: values[0] for key, values in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
    engine = query.get("engine", "")
    if engine not in ("local", "scribe"):
        engine = default_engine()
    language = query.get("language", "").lower()
    shown = query.get("shown", "")
    return LiveOptions(
        engine,
        language if LANGUAGE.match(language) else "",
        query.get("resume", ""),
        int(shown) if shown.isascii() and shown.isdigit() and len(shown) < 10 else None,
    )


class LiveConsumer(AsyncWebsocketConsumer):
    session: LiveSession | None = None

    async def __call__(self, scope, receive, send) -> None:
        # AsyncConsumer.__call__ without the channel-layer inbox: nothing is
        # ever sent to this consumer's channel (captions leave through
        # group_send), and Channels' loop over two sources costs a new Task
        # and an asyncio.wait per audio frame. Messages are still handled one
        # at a time, in order, as there.
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: dict) -> None:
        # Channels runs close_old_connections() through sync_to_async before
        # every message. That is one hop to the single shared sync thread per
        # audio frame: with many sessions the frames queue behind each other
        # (and behind every DB call) in that one thread, and Daphne's inbound
        # queue grows without bound. Audio frames touch no database (our DB
        # work goes through database_sync_to_async, which closes stale
        # connections itself), so they skip it; other messages keep it.
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
            return
        await super().dispatch(message)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)  # before accept: the handshake is refused
            return
        self.engine, self.language, resume, shown = live_options(self.scope)
        self.missed: list[dict] = []  # committed while the resuming page was away
        self.previous_text = ""  # the end of what a resumed session had committed
        self.buffer: deque[bytes] = deque()
        self.buffered = 0
        self.wake = asyncio.Event()
        self.tasks: list[asyncio.Task] = []
        self.segment_index = 0
        self.ended = False
        self.stopping: asyncio.Task | None = None
        self.last_audio = time.monotonic()
        self.viewers = False
        self.upstream = None
        await self.accept()
        try:
            self.session = await self.take_session(user, resume, shown)
        except services.LiveRefused as error:
            await self.refuse(error.code, str(error))
            return
        self.engine, self.language = self.session.engine, self.session.language
        self.recording = RecordingWriter(self.session.recording_name)
        self.upstream = make_upstream(
            self.engine,
            language=self.language,
            emit=self.on_event,
            position=self.recording.bytes / BYTES_PER_SECOND,
            previous_text=self.previous_text,
        )
        try:
            await self.upstream.start()
        except UpstreamError as error:
            self.recording.close()
            # A resumed session keeps what it had, for another try or for recovery.
            forget = services.detach_session if resume else services.discard_session
            await database_sync_to_async(forget)(self.session.pk)
            self.session, self.ended = None, True
            await self.refuse(error.code, str(error))
            return
        self.viewers = self.session.pk in await database_sync_to_async(services.watched)([self.session.pk])
        self.tasks = [asyncio.create_task(self.pump())]
        pulse().join(self)
        await self.send_json(
            {
                "type": "ready",
                "session": str(self.session.uuid),
                "engine": self.engine,
                "language": self.language,
                "resumed": bool(resume),
            }
        )
        for segment in self.missed:
            await self.send_json({"type": "committed", **segment})

    async def take_session(self, user, resume: str, shown: int | None) -> LiveSession:
        """open_session, waiting up to LIVE_RESUME_WAIT_SECONDS for a session
        being resumed to be let go by its old connection. The page notices a
        drop and is back within a second or two, often while the server is
        still sending the old connection's last audio upstream, or before it
        has seen the drop at all: the old connection is asked to hand over
        (at once in this process, at its next heartbeat in another)."""
        deadline = time.monotonic() + settings.LIVE_RESUME_WAIT_SECONDS
        asked = False
        while True:
            try:
                return await database_sync_to_async(self.open_session)(user, resume, shown)
            except services.SessionBusy as busy:
                if time.monotonic() >= deadline:
                    raise
                if not asked:
                    asked = True
                    await database_sync_to_async(services.request_release)(busy.session_id)
                    pulse().release(busy.session_id)
                await asyncio.sleep(0.2)

    def open_session(self, user, resume: str, shown: int | None) -> LiveSession:
        """A new session, or the one the page asks to resume (its browser
        connection dropped) with the segment numbering carried on and the
        segments the page missed (committed as the old connection finished)."""
        if resume:
            session = services.resume_session(user, resume)
            if shown is not None:
                self.missed = services.segments_from(session.pk, shown)
            self.segment_index = services.next_segment_index(session.pk)
            self.previous_text = services.last_committed_text(session.pk)
            return session
        if not is_configured(self.engine):
            raise services.LiveRefused(
                "not_configured", "Scribe is not configured on this server; choose the local engine."
            )
        return services.start_session(user, engine=self.engine, language=self.language)

    async def refuse(self, code: str, message: str) -> None:
        await self.send_error(code, message)
        await self.close(code=CLOSE_REFUSED)

    # --- from the browser ------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.session is None or self.ended or self.stopping:
            return
        if bytes_data is not None:
            await self.receive_audio(bytes_data)
            return
        try:
            message = json.loads(text_data or "")
        except ValueError:
            message = None
        if not isinstance(message, dict) or message.get("type") not in ("stop",):
            await self.reject(
                "malformed_frame", "The page sent a message the server does not understand.", CLOSE_UNSUPPORTED
            )
            return
        self.stopping = asyncio.create_task(self.stop())

    async def receive_audio(self, pcm: bytes) -> None:
        if len(pcm) > settings.LIVE_MAX_FRAME_BYTES:
            await self.reject("frame_too_large", "An audio frame was larger than the server accepts.", CLOSE_TOO_BIG)
            return
        if len(pcm) % 2:
            await self.reject("malformed_frame", "An audio frame was not 16-bit PCM.", CLOSE_UNSUPPORTED)
            return
        self.last_audio = time.monotonic()
        if self.buffered + len(pcm) > settings.LIVE_MAX_BUFFER_SECONDS * BYTES_PER_SECOND:
            await self.reject(
                "buffer_full",
                "The speech service is not keeping up, so the session was stopped and saved. Try again in a moment.",
                CLOSE_TRY_AGAIN,
            )
            return
        # Accepted: from here the frame goes to both the WAV and the upstream.
        self.recording.write(pcm)
        self.buffer.append(pcm)
        self.buffered += len(pcm)
        self.wake.set()

    async def reject(self, code: str, message: str, close_code: int) -> None:
        log.info("Live session %s closed: %s", self.session.pk if self.session else "-", code)
        await self.send_error(code, message)
        self.stopping = asyncio.current_task()
        for task in self.tasks:
            task.cancel()
        if self.upstream is not None:
            await self.upstream.close()
        await self.end(message)
        await self.close(code=close_code)

    # --- to the upstream -------------------------------------------------------------

    async def pump(self) -> None:
        """Drain the buffer into the upstream, in order."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.buffer:
                pcm = self.buffer[0]
                await self.upstream.send(pcm)
                self.buffer.popleft()
                self.buffered -= len(pcm)

    async def drain(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self.buffer and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    # --- the heartbeat (realtime/pulse.py) --------------------------------------------

    @property
    def session_id(self) -> int:
        return self.session.pk

    def on_heartbeat(self, watched: bool) -> None:
        self.viewers = watched
        if self.stopping:
            return
        if time.monotonic() - self.last_audio > settings.LIVE_IDLE_TIMEOUT:
            self.stopping = asyncio.create_task(
                self.stop_with("idle", "No audio arrived for a while, so the session was stopped and saved.")
            )
        elif self.recording.bytes >= settings.LIVE_MAX_SESSION_SECONDS * BYTES_PER_SECOND:
            self.stopping = asyncio.create_task(
                self.stop_with("session_limit", "This live session reached the maximum length. It was saved.")
            )

    def on_release(self) -> None:
        if not self.stopping and not self.ended:
            self.stopping = asyncio.create_task(self.hand_over())

    async def hand_over(self) -> None:
        """The page resumes this session on another connection (this one
        dropped without the server seeing it yet): finish as after a drop."""
        await self.finish_upstream()
        await self.detach()
        await self.send_error("taken_over", "This live session went on in another connection.")
        await self.close(code=CLOSE_TAKEN_OVER)

    async def stop_with(self, code: str, message: str) -> None:
        await self.send_error(code, message)
        await self.stop()

    # --- from the upstream -----------------------------------------------------------

    async def on_event(self, event) -> None:
        if isinstance(event, Partial):
            await self.caption({"type": "partial", "text": event.text})
        elif isinstance(event, Committed):
            await self.committed(event)
        elif isinstance(event, Status):
            await self.send_json({"type": "status", "state": event.state, "message": event.message})
        elif isinstance(event, Failure):
            await self.send_error(event.code, event.message, fatal=event.fatal)
            if event.fatal and not self.stopping:
                self.stopping = asyncio.create_task(self.stop(event.message, commit=False))

    async def committed(self, event: Committed) -> None:
        if not event.text.strip() and not event.words:
            return
        index = self.segment_index
        self.segment_index += 1
        await database_sync_to_async(services.append_segment)(
            self.session.pk, index, event.text.strip(), event.words, event.start, event.end
        )
        await self.caption(
            {"type": "committed", "index": index, "text": event.text.strip(), "start": event.start, "end": event.end}
        )

    async def caption(self, message: dict) -> None:
        await self.send_json(message)
        if self.viewers:
            await self.channel_layer.group_send(
                services.viewer_group(self.session.uuid), {"type": "live.caption", "caption": message}
            )

    # --- ending ------------------------------------------------------------------------

    async def stop(self, error: str = "", *, commit: bool = True) -> None:
        """The user pressed stop (or the upstream ended the session): send the
        last audio, let the upstream commit it, save, and tell the page."""
        await self.drain()
        if self.upstream is not None:
            await (self.upstream.finish() if commit else self.upstream.close())
        transcript = await self.end(error)
        if transcript is not None:
            await self.send_json(
                {
                    "type": "ended",
                    "transcript": transcript.pk,
                    "url": reverse("transcripts:detail", args=[transcript.pk]),
                }
            )
        await self.close(code=1000)

    async def end(self, error: str = ""):
        """Save the session once, whichever way it ends."""
        if not self.let_go():
            return None
        transcript = await database_sync_to_async(services.end_session)(self.session.pk, error=error)
        await self.channel_layer.group_send(
            services.viewer_group(self.session.uuid), {"type": "live.caption", "caption": {"type": "ended"}}
        )
        return transcript

    def let_go(self) -> bool:
        """Stop this consumer's part in the session; False if it already had."""
        if self.ended or self.session is None:
            return False
        self.ended = True
        pulse().leave(self)
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self.recording.close()
        return True

    async def disconnect(self, code: int) -> None:
        if self.session is None or self.ended:
            return
        if self.stopping:
            await asyncio.shield(self.stopping)
            return
        # The browser went away without stopping: keep what was committed and
        # let the upstream commit what it has.
        await self.finish_upstream()
        if code in PAGE_LEFT:
            await self.end()
        else:
            await self.detach()

    async def finish_upstream(self) -> None:
        """Send the audio already accepted and let the upstream commit what it
        has. Bounded so that it stays inside Daphne's application close
        timeout (10 s), after which it cancels us."""
        if self.upstream is None:
            return
        await self.drain(timeout=3.0)
        try:
            await asyncio.wait_for(self.upstream.finish(), 6)
        except TimeoutError:
            await self.upstream.close()

    async def detach(self) -> None:
        """Leave the session for its page to resume on a new connection; if
        it never does, recovery saves it."""
        if self.let_go():
            await database_sync_to_async(services.detach_session)(self.session.pk)

    async def send_error(self, code: str, message: str, *, fatal: bool = True) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, "fatal": fatal})

    async def send_json(self, message: dict) -> None:
        try:
            await self.send(text_data=json.dumps(message))
        except Exception as error:  # the browser is gone; the session is still saved
            log.debug("Live message not delivered: %s", type(error).__name__)


class LiveViewerConsumer(AsyncWebsocketConsumer):
    """Someone with the live link: captions as they happen, no login needed."""

    async def connect(self) -> None:
        token = self.scope["url_route"]["kwargs"]["token"]
        self.session = await database_sync_to_async(services.session_for_token)(token)
        if self.session is None:
            await self.close(code=4404)
            return
        self.group = services.viewer_group(self.session.uuid)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        backlog = await database_sync_to_async(self.backlog)()
        await self.send(text_data=json.dumps(backlog))

    def backlog(self) -> dict:
        self.session.refresh_from_db()
        return {
            "type": "backlog",
            "segments": list(self.session.segments.values_list("text", flat=True)),
            "ended": not self.session.is_active,
        }

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        pass  # viewers only listen

    async def live_caption(self, event: dict) -> None:
        await self.send(text_data=json.dumps(event["caption"]))
        if event["caption"].get("type") == "ended":
            await self.close()
