"""The Scribe-compatible realtime socket, `/v1/speech-to-text/realtime`
(../shared/scribe-api.md §7), so that an app written against ElevenLabs'
realtime clients streams to this server instead.

Only the wire protocol lives here (scribe_realtime_protocol.py has its
pieces). The session is an ordinary live session run by the LiveRelay on
the server's engine, so it is recorded, saved segment by segment and ends
up in the user's library like one started from the live page.

Scribe's segments are the client's: with `commit_strategy=manual` (the
default) the text the engine commits is gathered, shown in
`partial_transcript` as the segment so far, and sent as one
`committed_transcript` when the client commits (the engine is first made to
commit the audio before the commit). With `vad` each stretch of text the
engine commits is a segment of its own.

Errors follow §7.1/7.4: the socket always opens; a bad credential gets
`auth_error` and a close 1000, bad parameters `invalid_request` and 1008, a
bad message `input_error`. A bad message ends the session, but what came
before it is transcribed and saved.
"""

from __future__ import annotations

import json
import logging

from api.compat import scribe_realtime_protocol as protocol
from api.compat.scribe_realtime_protocol import CLOSE_NORMAL, ProtocolError, RealtimeOptions
from realtime.inboxless import InboxlessConsumer
from realtime.relay import Ending, LiveOptions, LiveRelay, Segment
from realtime.services import LiveRefused
from realtime.store import DatabaseStore
from realtime.viewers import GroupViewers
from transcripts.document import canonical
from transcripts.engines.registry import default_engine

log = logging.getLogger(__name__)

# A manual segment the client has not committed is committed once it spans
# this long, as Scribe does (scribe-api.md §7.5), so it cannot grow unbounded.
AUTO_COMMIT_SECONDS = 90.0

# Why a session could not start (realtime.services.LiveRefused codes), as Scribe's error types.
REFUSALS = {
    "session_limit": "rate_limited",  # too many live sessions open at once
    "quota": "quota_exceeded",
    "server_busy": "resource_exhausted",
}
# What the relay and the engine report, as Scribe's error types. An idle
# socket is closed without a message (§7.5); the engine's own credential or
# settings problems are the server's, not the client's.
ERRORS: dict[str, str | None] = {
    "idle": None,
    "session_limit": "session_time_limit_exceeded",
    "buffer_full": "queue_overflow",
    "frame_too_large": "chunk_size_exceeded",
    "malformed_frame": "input_error",
    "auth_error": "transcriber_error",
    "invalid_request": "transcriber_error",
    "unaccepted_terms": "transcriber_error",
    "upstream_unavailable": "transcriber_error",
    "server_busy": "resource_exhausted",
}
SCRIBE_ERRORS = {
    "error",
    "quota_exceeded",
    "commit_throttled",
    "transcriber_error",
    "rate_limited",
    "input_error",
    "queue_overflow",
    "resource_exhausted",
    "session_time_limit_exceeded",
    "chunk_size_exceeded",
    "insufficient_audio_activity",
}


def scribe_error_type(code: str) -> str | None:
    if code in ERRORS:
        return ERRORS[code]
    return code if code in SCRIBE_ERRORS else "error"


def timed_words(words: list[dict]) -> list[dict]:
    """The segment's words with `spacing` between them, as Scribe sends them."""
    return canonical.with_spacing([word for word in words if word.get("type") != "spacing"])


class ScribeRealtimeConsumer(InboxlessConsumer):
    """Also the relay's Sink: what the relay says becomes Scribe's messages."""

    relay: LiveRelay | None = None
    options: RealtimeOptions
    decoder: protocol.ChunkDecoder

    async def connect(self) -> None:
        await self.accept()  # Scribe never refuses the upgrade: errors come as messages
        self.close_code = CLOSE_NORMAL
        self.segment_texts: list[str] = []  # committed by the engine since the client's last commit
        self.segment_words: list[dict] = []
        self.segment_start = 0.0
        self.language: str | None = None
        user = self.scope.get("user")
        if not self.scope.get("auth") or user is None or not user.is_authenticated:
            await self.refuse("auth_error", protocol.AUTH_ERROR, CLOSE_NORMAL)
            return
        try:
            self.options = protocol.options_from(self.scope.get("query_string", b""))
        except ProtocolError as error:
            await self.refuse(error.message_type, str(error), error.close_code)
            return
        self.decoder = protocol.ChunkDecoder(self.options)
        relay = LiveRelay(
            store=DatabaseStore(), sink=self, viewers=lambda session: GroupViewers(self.channel_layer, session)
        )
        try:
            await relay.start(user, LiveOptions(default_engine(), self.options.language_code, paced_by_client=True))
        except LiveRefused as refused:
            await self.refuse(REFUSALS.get(refused.code, "error"), str(refused), CLOSE_NORMAL)
            return
        self.relay = relay

    async def refuse(self, message_type: str, message: str, code: int) -> None:
        await self.send_json(protocol.error(message_type, message))
        await self.close(code=code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        relay = self.relay
        if relay is None or not relay.streaming:
            return
        try:
            chunk = self.decoder.decode(text_data if bytes_data is None else None)
        except ProtocolError as error:
            self.close_code = error.close_code
            await self.send_json(protocol.error(error.message_type, str(error)))
            relay.end(Ending.CLIENT_ERROR, str(error))
            return
        if chunk.previous_text:
            relay.context(chunk.previous_text)
        if chunk.pcm:
            relay.accept(chunk.pcm)
        if chunk.commit:
            relay.commit(self.send_commit)

    async def disconnect(self, code: int) -> None:
        # There is no resuming a Scribe socket: however it went, the session is saved.
        if self.relay is not None:
            await self.relay.disconnected(code, page_left=True)

    async def send_commit(self) -> None:
        """The client's commit is through the engine: its segment, whole."""
        if self.options.commit_strategy == "vad" and not self.segment_texts:
            return  # each engine commit was a segment already
        text = " ".join(self.segment_texts)
        words = self.segment_words
        self.segment_texts, self.segment_words = [], []
        await self.send_segment(text, words)

    async def send_segment(self, text: str, words: list[dict]) -> None:
        await self.send_json(protocol.committed(text))
        if self.options.include_timestamps:
            await self.send_json(protocol.committed_with_timestamps(text, self.language, timed_words(words)))

    # --- the relay's Sink --------------------------------------------------------------

    async def ready(self, session_uuid: str, options: LiveOptions) -> None:
        self.language = options.language or None
        await self.send_json(protocol.session_started(self.options, session_uuid.replace("-", "")))

    async def partial(self, text: str) -> None:
        if self.options.commit_strategy == "manual":
            text = " ".join([*self.segment_texts, text]).strip()
        await self.send_json(protocol.partial(text))

    async def committed(self, segment: Segment, words: list[dict] | None = None) -> None:
        if self.options.commit_strategy == "vad":
            await self.send_segment(segment.text, words or [])
        else:
            if not self.segment_texts:
                self.segment_start = segment.start
            self.segment_texts.append(segment.text)
            self.segment_words.extend(words or [])
            if segment.end - self.segment_start >= AUTO_COMMIT_SECONDS:
                await self.send_commit()

    async def status(self, state: str, message: str) -> None:
        pass  # the engine's reconnects are the server's business

    async def error(self, code: str, message: str, *, fatal: bool = True) -> None:
        message_type = scribe_error_type(code)
        if message_type is not None:
            await self.send_json(protocol.error(message_type, message))

    async def ended(self, transcript_id: int) -> None:
        log.info("Scribe-compatible session saved as transcript %s", transcript_id)

    async def close_page(self, how: Ending) -> None:
        await self.close(code=self.close_code)

    async def send_json(self, message: dict) -> None:
        try:
            await self.send(text_data=json.dumps(message))
        except Exception as error:  # the client is gone; the session is still saved
            log.debug("Scribe-compatible message not delivered: %s", type(error).__name__)
