"""Realtime upstreams: something that takes 16 kHz PCM16 audio and yields
partial and committed text. `scribe.py` speaks the Scribe realtime
WebSocket; `local.py` runs faster-whisper on a rolling window.

An upstream is used by one consumer:

    upstream = make_upstream(engine, language=..., emit=callback, replay=read_recording)
    await upstream.start()          # raises UpstreamError when it cannot open
    await upstream.send(pcm)        # in order; may wait while the upstream is slow
    await upstream.commit()         # commit what is pending now; returns once its text is emitted
    upstream.context(text)          # what was said before (a client's previous_text), before any audio
    await upstream.finish(timeout)  # commit what is pending, wait for its text, then close
    await upstream.close()          # close at once
    upstream.transcribed_until      # session seconds up to which all audio sent has text

and it reports through `emit(event)` (an async callable) with the events below.
`replay(start, end)` reads bytes [start, end) of the session's audio (its
recording), for an upstream that must send audio again after a reconnect.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Partial:
    text: str


@dataclass
class Committed:
    text: str
    # canonical word tokens with times in seconds from the start of the session
    words: list[dict] | None = None
    start: float = 0.0
    end: float = 0.0
    language: str | None = None


@dataclass
class Status:
    """The upstream connection changed: "connected", "reconnecting"."""

    state: str
    message: str = ""


@dataclass
class Failure:
    """An error from the upstream. `fatal` ends the session."""

    code: str
    message: str
    fatal: bool = True
    extra: dict = field(default_factory=dict)


@dataclass
class Lag:
    """How many seconds the text is behind the audio sent, as last measured."""

    seconds: float


Event = Partial | Committed | Status | Failure | Lag
Emit = Callable[[Event], Awaitable[None]]
Replay = Callable[[int, int], Awaitable[bytes]]


class UpstreamError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# What the page says for each error the realtime protocol defines (and ours).
MESSAGES = {
    "auth_error": "The speech service refused our credentials. An administrator needs to check the API key.",
    "quota_exceeded": "The speech service quota is used up. Live captions stop until it is renewed.",
    "rate_limited": "The speech service is receiving too many requests. Wait a minute and try again.",
    "resource_exhausted": "The speech service is out of capacity right now. Try again shortly.",
    "session_time_limit_exceeded": "This live session reached the speech service's time limit. It has been saved.",
    "input_error": "The speech service could not read the audio that was sent.",
    "invalid_request": "The speech service refused the session settings (check the language).",
    "unaccepted_terms": "The speech service's terms have not been accepted for this account.",
    "commit_throttled": "Segments are being committed too often; the service slowed down.",
    "transcriber_error": "The speech service had an internal error.",
    "queue_overflow": "The speech service is overloaded and dropped audio.",
    "chunk_size_exceeded": "An audio chunk was too large for the speech service.",
    "insufficient_audio_activity": "No speech was heard for a while, so the session ended. It has been saved.",
    "error": "The speech service reported an error.",
    "upstream_unavailable": "The speech service cannot be reached. Try again shortly.",
    "server_busy": "The server is busy with other live sessions on the local engine. "
    "Try again in a few minutes, or choose Scribe.",
}

# Errors after which the session cannot go on (the others are warnings; if the
# upstream then drops, it is reconnected).
FATAL = {
    "auth_error",
    "quota_exceeded",
    "rate_limited",
    "resource_exhausted",
    "session_time_limit_exceeded",
    "invalid_request",
    "unaccepted_terms",
    "insufficient_audio_activity",
    "upstream_unavailable",
    "server_busy",
}


def message_for(code: str, detail: str = "") -> str:
    return MESSAGES.get(code, MESSAGES["error"])


class Upstream(Protocol):
    """A speech service for one live session (see the module docstring)."""

    @property
    def transcribed_until(self) -> float: ...

    async def start(self) -> None: ...

    async def send(self, pcm: bytes) -> None: ...

    async def commit(self) -> None: ...

    def context(self, text: str) -> None: ...

    async def finish(self, timeout: float = ...) -> None: ...

    async def close(self) -> None: ...


class UpstreamFactory(Protocol):
    def __call__(
        self,
        engine: str,
        *,
        language: str,
        emit: Emit,
        position: float = 0.0,
        previous_text: str = "",
        keyterms: tuple[str, ...] = (),
        context: bytes = b"",
        replay: Replay | None = None,
    ) -> Upstream: ...


def make_upstream(
    engine: str,
    *,
    language: str,
    emit: Emit,
    position: float = 0.0,
    previous_text: str = "",
    keyterms: tuple[str, ...] = (),
    context: bytes = b"",
    replay: Replay | None = None,
) -> Upstream:
    """`position`: session seconds at which the audio it is sent starts (a
    resumed session goes on from where its recording ends); `previous_text`:
    what was committed before it, as context (Scribe takes it); `context`:
    the last seconds of the recording before `position` (the local engine
    hears them again, so its window does not start mid-sentence); `replay`:
    the session's recording, read after a reconnect."""
    if engine == "scribe":
        from realtime.upstreams.scribe import ScribeUpstream

        return ScribeUpstream(
            language=language,
            emit=emit,
            position=position,
            previous_text=previous_text,
            keyterms=keyterms,
            replay=replay,
        )
    from realtime.upstreams.local import LocalUpstream

    return LocalUpstream(language=language, emit=emit, position=position, context=context, previous_text=previous_text)
