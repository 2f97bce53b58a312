"""The Scribe realtime upstream: the only module that knows the Scribe
WebSocket (../shared/scribe-api.md §6-7).

Each connection uses a fresh single-use token minted with the API key, so
the key travels only in the `xi-api-key` header of one server-to-server
POST; it is never put in a URL, a message or a log line. Audio since the
last commit is kept (a few seconds) and replayed after a reconnect, so a
dropped upstream loses no committed text and at worst re-sends a partial.
Every new socket (a reconnect, or a session resumed by its page) is given
the end of the text committed so far as `previous_text`, so that Scribe
hears the first words after the break in context.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol
from urllib.parse import urlencode

import httpx
import websockets
from django.conf import settings
from websockets.exceptions import ConnectionClosed

from realtime.upstreams import FATAL, Committed, Emit, Failure, Partial, Status, UpstreamError, message_for
from transcripts.media.pcm import BYTES_PER_SECOND, SAMPLE_RATE

log = logging.getLogger(__name__)

REPLAY_SECONDS = 15  # uncommitted audio kept for a reconnect
RECONNECT_ATTEMPTS = 5
RECONNECT_BACKOFF_SECONDS = 0.2  # doubled at each attempt, at most 3 s
OPEN_TIMEOUT = 10.0
FINISH_TIMEOUT = 5.0
VAD_SILENCE_SECONDS = 1.0
PREVIOUS_TEXT_CHARS = 50  # Scribe's limit for previous_text is about this (scribe-api.md §7.3)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process: building one loads the CA bundle (~70 ms
    of CPU on the event loop), which a storm of new sessions would pay each."""
    return ssl.create_default_context()


async def mint_token() -> str:
    """POST /v1/single-use-token/realtime_scribe with the API key."""
    url = settings.ELEVENLABS_BASE_URL.rstrip("/") + "/v1/single-use-token/realtime_scribe"
    try:
        async with httpx.AsyncClient(timeout=10, verify=tls_context()) as client:
            response = await client.post(url, headers={"xi-api-key": settings.ELEVENLABS_API_KEY})
    except httpx.HTTPError as error:
        raise UpstreamError("upstream_unavailable", message_for("upstream_unavailable")) from error
    if response.status_code in (401, 403):
        raise UpstreamError("auth_error", message_for("auth_error"))
    if response.status_code == 429:
        raise UpstreamError("rate_limited", message_for("rate_limited"))
    if response.status_code != 200:
        raise UpstreamError("upstream_unavailable", message_for("upstream_unavailable"))
    return response.json()["token"]


def realtime_url(token: str, language: str, keyterms: tuple[str, ...] = ()) -> str:
    base = settings.ELEVENLABS_BASE_URL.rstrip("/")
    base = "ws" + base[4:] if base.startswith("http") else base
    params = [
        ("model_id", settings.SCRIBE_REALTIME_MODEL),
        ("audio_format", "pcm_16000"),
        ("commit_strategy", "vad"),
        ("vad_silence_threshold_secs", str(VAD_SILENCE_SECONDS)),
        ("include_timestamps", "true"),
    ]
    if language:
        params.append(("language_code", language))
    else:  # "auto": Scribe says which language it heard, so the transcript can be filed under it
        params.append(("include_language_detection", "true"))
    params.extend(("keyterms", term) for term in keyterms)  # repeated, as the SDK sends them
    params.append(("token", token))
    return f"{base}/v1/speech-to-text/realtime?{urlencode(params)}"


# The audio message, built by hand: json.dumps scans the ~8 KB base64 string
# of every chunk for characters to escape (there are none in the base64
# alphabet), which made it 3-4x slower than this on the hot path.
CHUNK_PREFIX = '{"message_type": "input_audio_chunk", "audio_base_64": "'
CHUNK_SUFFIX = f'", "commit": false, "sample_rate": {SAMPLE_RATE}}}'


def chunk_message(pcm: bytes, previous_text: str = "") -> str:
    """An audio chunk; `previous_text` (context) is allowed on a socket's first only."""
    message = CHUNK_PREFIX + base64.b64encode(pcm).decode("ascii") + CHUNK_SUFFIX
    if previous_text:
        message = f'{message[:-1]}, "previous_text": {json.dumps(previous_text)}}}'
    return message


def text_tail(text: str, limit: int = PREVIOUS_TEXT_CHARS) -> str:
    """The last whole words of `text` that fit in `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    start = len(text) - limit
    tail = text[start:]
    return tail if text[start - 1] == " " else tail.partition(" ")[2]


COMMIT_MESSAGE = json.dumps(
    {"message_type": "input_audio_chunk", "audio_base_64": "", "commit": True, "sample_rate": SAMPLE_RATE}
)


class Socket(Protocol):
    """What the upstream uses of a websockets connection (tests script one)."""

    async def send(self, message: str) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...

    def __aiter__(self) -> AsyncIterator[str | bytes]: ...


async def open_socket(language: str, keyterms: tuple[str, ...] = ()) -> Socket:
    """A new realtime socket with a fresh single-use token, once Scribe has
    said `session_started` on it."""
    token = await mint_token()
    try:
        # No permessage-deflate: base64 PCM barely compresses, and zlib on every
        # chunk is most of the CPU a proxied session would cost.
        ws = await websockets.connect(
            realtime_url(token, language, keyterms),
            open_timeout=OPEN_TIMEOUT,
            max_size=2**22,
            ping_interval=20,
            compression=None,
        )
    except (OSError, TimeoutError, websockets.InvalidHandshake) as error:
        raise UpstreamError("upstream_unavailable", message_for("upstream_unavailable")) from error
    try:
        first = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
    except (ConnectionClosed, TimeoutError, ValueError) as error:
        await ws.close()
        raise UpstreamError("upstream_unavailable", message_for("upstream_unavailable")) from error
    if first.get("message_type") != "session_started":
        await ws.close()
        code = first.get("message_type", "error")
        raise UpstreamError(code, message_for(code))
    return ws


class ScribeUpstream:
    def __init__(
        self,
        *,
        language: str,
        emit: Emit,
        position: float = 0.0,
        previous_text: str = "",
        dial: Callable[[str], Awaitable[Socket]] = open_socket,
        keyterms: tuple[str, ...] = (),
    ):
        self.dial = functools.partial(open_socket, keyterms=keyterms) if dial is open_socket and keyterms else dial
        self.language = language
        self.emit = emit
        self.previous_text = text_tail(previous_text)  # committed before the next socket's audio
        self.fresh_socket = False  # nothing sent on the current socket yet
        self.ws: Socket | None = None
        self.connected = asyncio.Event()
        self.reader: asyncio.Task | None = None
        self.closing = False
        self.fatal = False
        self.tail = bytearray()  # audio since the last commit
        self.sent_bytes = round(position * SAMPLE_RATE) * 2  # session position of the end of the audio sent
        self.socket_offset = 0.0  # session seconds at which this socket's audio starts (word times count from it)
        self.segment_start = 0.0  # session seconds at which the uncommitted segment starts
        self.pending: Committed | None = None  # a plain commit waiting for its timestamps
        self.skip_plain: str | None = None  # a plain commit already sent with timestamps
        self.emitted = asyncio.Event()  # a committed text went to emit()
        self.emitting = 0  # committed texts being emitted now
        self.connections = 0

    # --- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        await self._connect()
        self.reader = asyncio.create_task(self._read_loop())

    async def _connect(self) -> None:
        ws = await self.dial(self.language)
        self.ws = ws
        self.fresh_socket = True
        self.connections += 1
        self.socket_offset = self.segment_start = (self.sent_bytes - len(self.tail)) / BYTES_PER_SECOND
        for start in range(0, len(self.tail), 8000):  # replay what was not committed
            await ws.send(self._chunk(bytes(self.tail[start : start + 8000])))
        self.connected.set()

    async def send(self, pcm: bytes) -> None:
        await self.connected.wait()
        self.tail += pcm
        if len(self.tail) > REPLAY_SECONDS * BYTES_PER_SECOND:
            del self.tail[: len(self.tail) - REPLAY_SECONDS * BYTES_PER_SECOND]
        self.sent_bytes += len(pcm)
        assert self.ws is not None  # connected
        try:
            await self.ws.send(self._chunk(pcm))
        except ConnectionClosed:
            pass  # the reader reconnects and replays the tail, this chunk included

    def _chunk(self, pcm: bytes) -> str:
        first, self.fresh_socket = self.fresh_socket, False
        return chunk_message(pcm, self.previous_text if first else "")

    def context(self, text: str) -> None:
        """A client's previous_text: sent with this socket's first chunk, if none went yet."""
        if self.fresh_socket:
            self.previous_text = text_tail(text)

    async def commit(self) -> None:
        """Commit what is pending (nothing is, when Scribe's VAD committed it
        all already) and wait briefly for its text."""
        if self.tail:
            await self._commit_pending()
        elif self.pending is not None or self.emitting:  # committed by VAD, its text not yet through
            self.emitted.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.emitted.wait(), FINISH_TIMEOUT)

    async def _commit_pending(self) -> None:
        """Send a commit and wait for its text to be emitted (with its
        timestamps: the plain message alone is held for its twin)."""
        if self.ws is not None and self.connected.is_set() and not self.fatal:
            self.emitted.clear()
            try:
                await self.ws.send(COMMIT_MESSAGE)
                await asyncio.wait_for(self.emitted.wait(), FINISH_TIMEOUT)
            except (ConnectionClosed, TimeoutError):
                pass

    async def finish(self) -> None:
        """Commit what is pending and wait briefly for its text, then close."""
        await self._commit_pending()
        await self.close()

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            await self.ws.close(1000, "User ended session")
        if self.reader is not None:
            try:
                await asyncio.wait_for(self.reader, 2)
            except (TimeoutError, asyncio.CancelledError):
                self.reader.cancel()
        await self._flush_pending()

    # --- reading -------------------------------------------------------------------

    async def _read_loop(self) -> None:
        while True:
            assert self.ws is not None  # started
            try:
                async for raw in self.ws:
                    await self._handle(json.loads(raw))
            except ConnectionClosed:
                pass
            except ValueError:
                log.warning("Scribe sent a message that is not JSON")
            await self._flush_pending()
            self.connected.clear()
            if self.closing or self.fatal:
                return
            if not await self._reconnect():
                return

    async def _reconnect(self) -> bool:
        await self.emit(Status("reconnecting", "The speech service connection dropped; reconnecting…"))
        for attempt in range(RECONNECT_ATTEMPTS):
            await asyncio.sleep(min(RECONNECT_BACKOFF_SECONDS * 2**attempt, 3))
            try:
                await self._connect()
            except UpstreamError as error:
                if error.code in ("auth_error", "quota_exceeded", "invalid_request", "unaccepted_terms"):
                    break
                continue
            log.info("Scribe realtime reconnected (connection %s)", self.connections)
            await self.emit(Status("connected", "Reconnected."))
            return True
        self.fatal = True
        await self.emit(Failure("upstream_unavailable", message_for("upstream_unavailable")))
        return False

    async def _handle(self, message: dict) -> None:
        kind = message.get("message_type")
        if kind == "partial_transcript":
            await self._flush_pending()
            await self.emit(Partial(message.get("text") or ""))
        elif kind == "committed_transcript":
            text = message.get("text") or ""
            if self.skip_plain is not None and self.skip_plain == text:
                self.skip_plain = None
                return
            await self._flush_pending()
            self.pending = Committed(text=text, start=self.segment_start, end=self.sent_bytes / BYTES_PER_SECOND)
            self._mark_committed()
        elif kind == "committed_transcript_with_timestamps":
            await self._timestamped(message)
        elif kind in ("session_started",) or kind is None:
            return
        elif "error" in message or kind in FATAL:
            await self._error(kind, message)

    async def _timestamped(self, message: dict) -> None:
        text = message.get("text") or ""
        words = [self._shift(word) for word in message.get("words") or []]
        timed = [w for w in words if w.get("start") is not None]
        start = timed[0]["start"] if timed else self.segment_start
        end = timed[-1]["end"] if timed else start
        if self.pending is not None and self.pending.text == text:
            self.pending = None
        elif self.pending is not None:
            await self._flush_pending()
        else:
            self.skip_plain = text  # arrived before its plain twin
        self._mark_committed()
        await self._emit_committed(
            Committed(text=text, words=words, start=start, end=end, language=message.get("language_code"))
        )

    def _mark_committed(self) -> None:
        self.tail.clear()
        self.segment_start = self.sent_bytes / BYTES_PER_SECOND

    def _shift(self, word: dict) -> dict:
        shifted = dict(word)
        for key in ("start", "end"):
            if isinstance(word.get(key), int | float):
                shifted[key] = round(word[key] + self.socket_offset, 3)
        if isinstance(word.get("characters"), list):
            shifted.pop("characters")
        return shifted

    async def _flush_pending(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            await self._emit_committed(pending)

    async def _emit_committed(self, committed: Committed) -> None:
        self.previous_text = text_tail(f"{self.previous_text} {committed.text}")
        self.emitting += 1
        try:
            await self.emit(committed)
        finally:
            self.emitting -= 1
        self.emitted.set()

    async def _error(self, kind: str, message: dict) -> None:
        code = kind or "error"
        fatal = code in FATAL
        self.fatal = self.fatal or fatal
        log.info("Scribe realtime error %s", code)
        detail = str(message.get("error", ""))[:300]
        await self.emit(Failure(code, message_for(code), fatal=fatal, extra={"detail": detail}))
