"""The Scribe realtime upstream: the only module that knows the Scribe
WebSocket (../shared/scribe-api.md §6-7).

Each connection uses a fresh single-use token minted with the API key, so
the key travels only in the `xi-api-key` header of one server-to-server
POST; it is never put in a URL, a message or a log line.

The upstream commits itself (`commit_strategy=manual`): after PAUSE_SECONDS
of quiet following speech, as Scribe's VAD would, and, once
COMMIT_AFTER_SECONDS of audio have no text, at the next quiet moment at all
(Scribe recommends a commit every 20-30 s; `commit_throttled` pushes the
next one back). So every answer is known to cover the audio up to where its
commit was sent. Everything sent since the last answered commit is replayed
after a reconnect, read back from the session's recording however long it
is, so a dropped upstream loses no audio and at worst re-sends a partial.
How far the text lags behind the audio sent is measured at each answer and
while one is awaited, and reported as `Lag`. Every new socket (a reconnect, or a session resumed by its page) is given
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
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol
from urllib.parse import urlencode

import httpx
import websockets
from django.conf import settings
from websockets.exceptions import ConnectionClosed

from realtime.silence import rms
from realtime.upstreams import (
    FATAL,
    Committed,
    Emit,
    Failure,
    Lag,
    Partial,
    Replay,
    Status,
    UpstreamError,
    message_for,
)
from transcripts.media.pcm import BYTES_PER_SECOND, SAMPLE_RATE

log = logging.getLogger(__name__)

REPLAY_CHUNK_BYTES = 8000  # the replay after a reconnect goes in chunks this size (0.25 s)
RECONNECT_ATTEMPTS = 5
RECONNECT_BACKOFF_SECONDS = 0.2  # doubled at each attempt, at most 3 s
OPEN_TIMEOUT = 10.0
FINISH_TIMEOUT = 5.0  # the relay gives its own (LIVE_STOP_WAIT_SECONDS)
FINISH_POLL_SECONDS = 0.05
CLOSE_TIMEOUT = 2.0
CLOSE_WAIT_SECONDS = 5.0  # for a reconnect under way to see the close and shut its socket
COMMIT_AFTER_SECONDS = 20.0  # uncommitted audio after which we commit at the next quiet moment
QUIET_RMS = 0.01  # a chunk this quiet (about -40 dBFS) is between words
THROTTLE_BACKOFF_SECONDS = 5.0  # after commit_throttled, doubled each time...
THROTTLE_BACKOFF_MAX_SECONDS = 60.0
FINAL_REFUSALS = ("auth_error", "quota_exceeded", "invalid_request", "unaccepted_terms")  # no retry helps
MIN_COMMIT_BYTES = round(0.3 * BYTES_PER_SECOND)  # Scribe refuses commits of less audio
PAUSE_SECONDS = 1.0  # quiet after speech that ends a segment: we commit it
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
        # Every commit is ours, so each answer is known to cover the audio up to
        # where its commit was sent: what a reconnect replays, what Stop waits
        # for and how far behind the text is are then exact, not guessed.
        ("commit_strategy", "manual"),
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
            # A server too busy to read our close frame soon is not waited for
            # long: the socket is then cut, which ends its session just as well.
            close_timeout=CLOSE_TIMEOUT,
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
    """One live session's Scribe connection(s). `replay(start, end)` reads
    bytes [start, end) of the session's audio (its recording): what has not
    been committed when a socket drops is sent again on the next one, however
    long it is. Without it the uncommitted audio is kept in memory."""

    def __init__(
        self,
        *,
        language: str,
        emit: Emit,
        position: float = 0.0,
        previous_text: str = "",
        replay: Replay | None = None,
        dial: Callable[[str], Awaitable[Socket]] = open_socket,
        keyterms: tuple[str, ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ):
        self.dial = functools.partial(open_socket, keyterms=keyterms) if dial is open_socket and keyterms else dial
        self.clock = clock
        self.language = language
        self.emit = emit
        self.previous_text = text_tail(previous_text)  # committed before the next socket's audio
        self.fresh_socket = False  # nothing sent on the current socket yet
        self.ws: Socket | None = None
        self.connected = asyncio.Event()
        self.reader: asyncio.Task | None = None
        self.closing = False
        self.fatal = False
        self.sent_bytes = round(position * SAMPLE_RATE) * 2  # session position of the end of the audio sent
        self.committed_bytes = self.sent_bytes  # every byte before this has its committed text
        self.asked_bytes = self.sent_bytes  # where the latest commit was sent
        self.replay = replay or self._from_memory
        self.memory = bytearray()  # without a replay source: the audio from committed_bytes on
        self.keep_memory = replay is None
        self.socket_offset = 0.0  # session seconds at which this socket's audio starts (word times count from it)
        self.segment_start = 0.0  # session seconds at which the uncommitted segment starts
        self.pending: Committed | None = None  # a plain commit waiting for its timestamps
        self.skip_plain: str | None = None  # a plain commit already sent with timestamps
        self.emitted = asyncio.Event()  # a committed text went to emit()
        self.emitting = 0  # committed texts being emitted now
        self.commits: deque[tuple[int, float]] = deque()  # our commits not yet answered: (position, sent at)
        self.commit_not_before = 0.0  # after commit_throttled
        self.commit_backoff = THROTTLE_BACKOFF_SECONDS
        self.lag = 0.0  # seconds the text was last known to be behind the audio sent
        self.heard_speech = False  # since the last commit
        self.quiet_bytes = 0  # of quiet audio just sent
        self.connections = 0

    @property
    def transcribed_until(self) -> float:
        """Session seconds up to which every audio sent has its committed text."""
        return self.committed_bytes / BYTES_PER_SECOND

    # --- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        await self._connect()
        self.reader = asyncio.create_task(self._read_loop())

    async def _connect(self) -> None:
        ws = await self.dial(self.language)
        self.ws = ws  # from here close() closes it, even mid-replay
        if self.closing:  # ended while the socket was opening: it is never used
            await ws.close(1000, "User ended session")
            raise UpstreamError("closed", "The session ended.")
        self.fresh_socket = True
        self.connections += 1
        self.commits.clear()  # commits sent on an earlier socket are never answered
        self.asked_bytes = self.committed_bytes
        start, end = self.committed_bytes, self.sent_bytes
        audio = await self.replay(start, end) if end > start else b""
        self.socket_offset = self.segment_start = (end - len(audio)) / BYTES_PER_SECOND
        try:
            for offset in range(0, len(audio), REPLAY_CHUNK_BYTES):  # what was not committed, again
                await ws.send(self._chunk(audio[offset : offset + REPLAY_CHUNK_BYTES]))
        except ConnectionClosed as error:
            raise UpstreamError("upstream_unavailable", message_for("upstream_unavailable")) from error
        self.connected.set()

    async def _from_memory(self, start: int, end: int) -> bytes:
        first = self.sent_bytes - len(self.memory)
        return bytes(self.memory[max(start - first, 0) : end - first])

    async def send(self, pcm: bytes) -> None:
        await self.connected.wait()
        if self.keep_memory:
            self.memory += pcm
        self.sent_bytes += len(pcm)
        assert self.ws is not None  # connected
        try:
            await self.ws.send(self._chunk(pcm))
            if self._commit_due(pcm):
                await self._commit()
        except ConnectionClosed:
            return  # the reader reconnects and replays everything uncommitted, this chunk included
        await self._report_waiting()

    def _chunk(self, pcm: bytes) -> str:
        first, self.fresh_socket = self.fresh_socket, False
        return chunk_message(pcm, self.previous_text if first else "")

    def context(self, text: str) -> None:
        """A client's previous_text: sent with this socket's first chunk, if none went yet."""
        if self.fresh_socket:
            self.previous_text = text_tail(text)

    async def commit(self) -> None:
        """A client's commit (the Scribe-compatible socket): what was sent so
        far is committed, and this returns once its text has been emitted
        (or after FINISH_TIMEOUT)."""
        if (
            self.ws is not None
            and self.connected.is_set()
            and not self.fatal
            and self.sent_bytes - self.asked_bytes >= MIN_COMMIT_BYTES
        ):
            with contextlib.suppress(ConnectionClosed):  # the reader reconnects and replays it
                await self._commit()
        target, deadline = self.asked_bytes, self.clock() + FINISH_TIMEOUT
        while (self.committed_bytes < target or self.pending is not None or self.emitting) and not self.fatal:
            if self.clock() >= deadline:
                return
            self.emitted.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.emitted.wait(), FINISH_POLL_SECONDS)

    def _commit_due(self, pcm: bytes) -> bool:
        """A segment ends at a pause after speech; and the uncommitted tail is
        kept short (a drop replays it, Stop waits for it): once
        COMMIT_AFTER_SECONDS of audio have no commit, any quiet moment will
        do. Never in the middle of a word."""
        if rms(pcm) < QUIET_RMS:
            self.quiet_bytes += len(pcm)
        else:
            self.quiet_bytes, self.heard_speech = 0, True
        unasked = (self.sent_bytes - self.asked_bytes) / BYTES_PER_SECOND
        if unasked < 1.0 or not self.quiet_bytes or self.clock() < self.commit_not_before:
            return False
        paused = self.heard_speech and self.quiet_bytes >= PAUSE_SECONDS * BYTES_PER_SECOND
        return paused or unasked >= COMMIT_AFTER_SECONDS

    async def _commit(self) -> None:
        """Commits are answered in order, each through where it was sent."""
        assert self.ws is not None
        self.commits.append((self.sent_bytes, self.clock()))
        self.asked_bytes, self.heard_speech = self.sent_bytes, False
        await self.ws.send(COMMIT_MESSAGE)

    async def finish(self, timeout: float = FINISH_TIMEOUT) -> None:
        """Commit everything sent and wait (up to `timeout`) until its text is
        in, over a reconnect if the socket drops meanwhile; then close."""
        deadline = self.clock() + timeout
        try:
            while (
                self.sent_bytes - self.committed_bytes >= MIN_COMMIT_BYTES
                and not self.fatal
                and self.reader is not None
                and not self.reader.done()
                and self.clock() < deadline
            ):
                if (
                    self.connected.is_set()
                    and self.sent_bytes - self.asked_bytes >= MIN_COMMIT_BYTES
                    and self.clock() >= self.commit_not_before
                ):
                    with contextlib.suppress(ConnectionClosed):  # the reader reconnects; commit again then
                        await self._commit()
                await asyncio.sleep(FINISH_POLL_SECONDS)
                await self._report_waiting()
        finally:
            await self.close()

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            await self.ws.close(1000, "User ended session")
        if self.reader is not None:
            try:  # a reconnect under way closes the socket it opens
                await asyncio.wait_for(asyncio.shield(self.reader), CLOSE_WAIT_SECONDS)
            except (TimeoutError, asyncio.CancelledError):
                self.reader.cancel()
        if self.ws is not None:
            await self.ws.close(1000, "User ended session")
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
            if self.closing:
                return False
            try:
                await self._connect()
            except UpstreamError as error:
                if self.closing or error.code in FINAL_REFUSALS:
                    break
                continue
            log.info("Scribe realtime reconnected (connection %s)", self.connections)
            await self.emit(Status("connected", "Reconnected."))
            return True
        if self.closing:
            return False
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
            await self._answered(None)
        elif kind == "committed_transcript_with_timestamps":
            await self._timestamped(message)
        elif kind == "commit_throttled":
            self._throttled()
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
        words_end = timed[-1]["end"] if timed else None
        if self.pending is not None and self.pending.text == text:  # the twin of a plain commit counted already
            self.pending = None
            if words_end is not None:
                self._advance(round(words_end * SAMPLE_RATE) * 2)
        else:
            if self.pending is not None:
                await self._flush_pending()
            else:
                self.skip_plain = text  # arrived before its plain twin
            await self._answered(words_end)
        await self._emit_committed(
            Committed(text=text, words=words, start=start, end=end, language=message.get("language_code"))
        )

    async def _answered(self, words_end: float | None) -> None:
        """A commit was answered: ours (the oldest outstanding, through the
        position it was sent at) or one Scribe made itself (its auto-commit
        after 90 s: through its last word, as far as anyone can tell)."""
        if self.commits:
            position, _ = self.commits.popleft()
            self._advance(position)
            self.commit_backoff = THROTTLE_BACKOFF_SECONDS
        elif words_end is not None:
            self._advance(round(words_end * SAMPLE_RATE) * 2)
        else:
            return
        await self._report_lag((self.sent_bytes - self.committed_bytes) / BYTES_PER_SECOND)

    def _advance(self, position: int) -> None:
        position = min(position, self.sent_bytes)
        if position > self.committed_bytes:
            self.committed_bytes = position
            self.segment_start = position / BYTES_PER_SECOND
            if self.keep_memory:
                del self.memory[: len(self.memory) - (self.sent_bytes - position)]

    def _throttled(self) -> None:
        """Our commit came too soon after another: it is forgotten, and the
        next waits, longer each time."""
        if self.commits:
            self.commits.pop()
        self.asked_bytes = self.commits[-1][0] if self.commits else self.committed_bytes
        self.heard_speech = True  # its audio goes with the next commit
        self.commit_not_before = self.clock() + self.commit_backoff
        self.commit_backoff = min(self.commit_backoff * 2, THROTTLE_BACKOFF_MAX_SECONDS)
        log.info("Scribe realtime: commit throttled; next commit in %.0f s", self.commit_not_before - self.clock())

    async def _report_waiting(self) -> None:
        """While a commit of ours waits for its answer the text is at least
        that far behind: said as it grows, not only once the answer comes."""
        if self.commits:
            waited = self.clock() - self.commits[0][1]
            if waited >= self.lag + 1:
                await self._report_lag(waited)

    async def _report_lag(self, seconds: float) -> None:
        self.lag = seconds
        await self.emit(Lag(seconds))

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
