"""Realtime WebSocket side of the fake Scribe server (see tests/fakes/scribe.py).

`GET /v1/speech-to-text/realtime`, as documented in ../shared/scribe-api.md §7:
- Auth with `xi-api-key` or a single-use `realtime_scribe` token (`?token=`),
  consumed on first use. A bad key or token still upgrades, then gets
  `auth_error` and close 1000. Bad parameters get `invalid_request` and close 1008.
- `session_started` first, with the observed config keys.
- `partial_transcript` while audio arrives; on a manual commit (`commit: true`)
  or, with `commit_strategy=vad`, after `vad_silence_threshold_secs` of
  silence following speech: `committed_transcript`, then
  `committed_transcript_with_timestamps` when `include_timestamps=true` (word
  times count from the first audio on the socket).
- The text comes from `fake.realtime.script` (one entry per committed
  segment, cycled), or `fake.realtime.transcriber(pcm_bytes) -> str` (e.g. the
  local engine on what it received).
- `input_error` (and close 1008) for unknown message types, bad fields or a
  `previous_text` after the first chunk.
- Faults from `fake.faults` under "realtime", taken when a socket opens:
  `Fault("drop", delay=S)` cuts the TCP connection after S seconds of audio;
  `Fault("error", body={"message_type": "rate_limited", "error": "..."}, delay=S, status=1000)`
  sends that error after S seconds of audio then closes with `status`;
  `Fault("slow", delay=S)` stops reading the socket for S seconds once the
  session starts (a slow reader: TCP pushes back on the sender).
  `Fault("drop_on_commit")`: the connection is cut when a commit arrives;
  `Fault("never_commit")`: the socket sends partials but never answers a
  commit (neither ours nor its VAD's);
  `Fault("pace", delay=F)`: the socket processes audio F times slower than
  real time (F=2: half real time), reading it only as fast, with a small
  receive buffer, so the backlog sits in the socket buffers as it would in
  front of a slow server.
- `fake.realtime.commit_delay = S`: every commit is answered S seconds late
  (a busy server).
- `fake.hear = speech.hear` (tests/fakes/speech.py): the text and word times
  of every commit are what is really in its audio.
- `fake.realtime.open_sessions`: sockets not closed yet (each one is billed).
- `fake.realtime.echo = True` (benchmarks): each chunk is answered with a
  partial `echo:<hex of its first 8 bytes>`; arrival and reply times are kept.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import re
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import numpy as np
from aiohttp import WSMsgType, web

PATH = "/v1/speech-to-text/realtime"
MODELS = {"scribe_v2_realtime", "scribe_v3_live", "scribe_v2_realtime_turbo", "scribe_v2_realtime_lite"}
AUDIO_FORMATS = {
    "pcm_8000": 8000,
    "pcm_16000": 16000,
    "pcm_22050": 22050,
    "pcm_24000": 24000,
    "pcm_44100": 44100,
    "pcm_48000": 48000,
    "ulaw_8000": 8000,
}
COMMIT_STRATEGIES = {"manual", "vad", "turn_prediction"}
BOOLEANS = (
    "include_timestamps",
    "include_language_detection",
    "no_verbatim",
    "enable_logging",
    "filter_background_audio",
)
AUTH_ERROR = "You must be authenticated to use this endpoint."
SILENCE_RMS = 0.01  # below this a 10 ms frame counts as silence for the fake VAD
AUTO_COMMIT_SECONDS = 90


@dataclass
class RealtimeSession:
    """What one socket received and sent, for assertions."""

    query: list[tuple[str, str]]
    auth: str  # "key", "token" or "bad"
    audio: bytearray = field(default_factory=bytearray)
    chunks: int = 0
    commits: int = 0
    previous_text: str | None = None  # given with the first chunk
    sent: list[dict] = field(default_factory=list)
    closed_code: int | None = None
    open: bool = True


@dataclass
class RealtimeConfig:
    script: list[str] = field(default_factory=lambda: ["the quick brown fox jumps over the lazy dog"])
    transcriber: Callable[[bytes], str] | None = None
    echo: bool = False
    commit_delay: float = 0.0
    keep_audio: bool = True
    idle_timeout: float = 15.0
    sessions: list[RealtimeSession] = field(default_factory=list)
    arrivals: dict[str, float] = field(default_factory=dict)  # echo id -> time.monotonic() at receipt
    segments_sent: int = 0

    @property
    def open_sessions(self) -> int:
        return sum(1 for session in self.sessions if session.open)


def realtime_state(fake) -> RealtimeConfig:
    if not hasattr(fake, "realtime"):
        fake.realtime = RealtimeConfig()
    return fake.realtime


def add_routes(app: web.Application, fake) -> None:
    """Registers GET /v1/speech-to-text/realtime (WebSocket)."""
    realtime_state(fake)

    async def realtime(request: web.Request) -> web.WebSocketResponse:
        return await RealtimeHandler(fake, request).run()

    app.router.add_get(PATH, realtime)


def validate_keyterms(terms: list[str]) -> str | None:
    """Repeated `keyterms` parameters, each as batch keyterms are limited."""
    if len(terms) > 1000:
        return "At most 1000 keyterms are allowed."
    for term in terms:
        if not term.strip() or len(term) > 49 or len(term.split()) > 5 or re.search(r"[<>{}\[\]\\]", term):
            return f"Invalid keyterm: {term!r}."
    return None


def validate(params: dict[str, str]) -> str | None:
    """The error text for bad connection parameters, or None."""
    if params.get("model_id") not in MODELS:
        return f"Invalid model_id: {params.get('model_id')!r}."
    if params.get("audio_format", "pcm_16000") not in AUDIO_FORMATS:
        return "Invalid audio_format."
    if params.get("commit_strategy", "manual") not in COMMIT_STRATEGIES:
        return "Invalid commit_strategy."
    language = params.get("language_code")
    if language is not None and not re.fullmatch(r"[a-z]{2,3}", language):
        return f"Invalid language code: {language!r}."
    for name in BOOLEANS:
        if name in params and params[name] not in ("true", "false"):
            return f"Invalid value for {name}: expected true or false."
    ranges = {
        "vad_silence_threshold_secs": (0.3, 3.0),
        "vad_threshold": (0.1, 0.9),
        "min_speech_duration_ms": (50, 2000),
        "min_silence_duration_ms": (50, 2000),
    }
    for name, (low, high) in ranges.items():
        if name in params:
            try:
                value = float(params[name])
            except ValueError:
                return f"Invalid value for {name}."
            if not low <= value <= high:
                return f"{name} must be between {low} and {high}."
    return None


class RealtimeHandler:
    def __init__(self, fake, request: web.Request):
        self.fake = fake
        self.config = realtime_state(fake)
        self.request = request
        self.ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024, autoping=True)
        self.query = list(parse_qsl(request.query_string, keep_blank_values=True))
        self.params: dict[str, str] = {}
        for key, value in self.query:
            self.params.setdefault(key, value)  # duplicate keys tolerated (the JS SDK repeats audio_format)
        self.sample_rate = AUDIO_FORMATS.get(self.params.get("audio_format", "pcm_16000"), 16000)
        self.vad = self.params.get("commit_strategy") == "vad"
        self.silence_needed = float(self.params.get("vad_silence_threshold_secs", 1.5))
        self.timestamps = self.params.get("include_timestamps") == "true"
        self.segment = bytearray()  # audio since the last commit
        self.segment_start = 0.0  # seconds from the first audio on the socket
        self.received_seconds = 0.0
        self.heard_speech = False
        self.silence = 0.0
        self.partial_words = -1
        self.first_chunk = True
        self.fault = None
        self.job: asyncio.Task | None = None  # transcriber work, in order

    async def run(self) -> web.WebSocketResponse:
        from tests.fakes.scribe import RecordedRequest

        self.fault = self.fake.faults.pop("realtime")  # taken by the next socket, whatever happens to it
        if self.fault and self.fault.kind in ("slow", "pace"):
            self.small_receive_buffer()
        await self.ws.prepare(self.request)
        self.fake.record(RecordedRequest("GET", self.request.path, self.query, dict(self.request.headers)))
        self.session = RealtimeSession(self.query, self.authenticate())
        self.config.sessions.append(self.session)
        try:
            return await self.serve()
        finally:
            self.session.open = False

    async def serve(self) -> web.WebSocketResponse:
        if self.session.auth == "bad":
            await self.send({"message_type": "auth_error", "error": AUTH_ERROR})
            return await self.close(1000)
        problem = validate(self.params) or validate_keyterms([v for k, v in self.query if k == "keyterms"])
        if problem:
            await self.send({"message_type": "invalid_request", "error": problem})
            return await self.close(1008)
        await self.send(
            {"message_type": "session_started", "session_id": secrets.token_hex(16), "config": self.session_config()}
        )
        if self.fault and self.fault.kind == "slow":
            await self.read_nothing(self.fault.delay)
        with contextlib.suppress(ConnectionResetError):
            await self.read_loop()
        if self.job is not None:
            await self.job
        if not self.ws.closed:
            await self.close(1000)
        return self.ws

    def small_receive_buffer(self) -> None:
        sock = self.request.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)

    async def read_nothing(self, seconds: float) -> None:
        """A slow reader: stop reading the socket, with a small receive buffer
        (loopback would otherwise autotune it to tens of MB), so TCP pushes
        back on the sender as a congested real server would."""
        self.request.protocol.pause_reading()
        await asyncio.sleep(seconds)
        self.request.protocol.resume_reading()
        self.request.transport.resume_reading()

    def authenticate(self) -> str:
        if self.request.headers.get("xi-api-key") == self.fake.api_key:
            return "key"
        if self.fake.consume_token(self.params.get("token"), "realtime_scribe"):
            return "token"
        return "bad"

    def session_config(self) -> dict:
        return {
            "sample_rate": self.sample_rate,
            "audio_format": self.params.get("audio_format", "pcm_16000"),
            "language_code": self.params.get("language_code"),
            "secondary_languages": [],
            "timestamps_granularity": "word",
            "vad_commit_strategy": self.vad,
            "vad_silence_threshold_secs": self.silence_needed,
            "vad_threshold": float(self.params.get("vad_threshold", 0.4)),
            "min_speech_duration_ms": int(float(self.params.get("min_speech_duration_ms", 100))),
            "min_silence_duration_ms": int(float(self.params.get("min_silence_duration_ms", 100))),
            "max_tokens_to_recompute": 5,
            "model_id": self.params["model_id"],
            "disable_logging": self.params.get("enable_logging") == "false",
            "include_timestamps": self.timestamps,
            "include_language_detection": self.params.get("include_language_detection") == "true",
        }

    async def send(self, message: dict) -> None:
        self.session.sent.append(message)
        await self.ws.send_str(json.dumps(message))

    async def close(self, code: int) -> web.WebSocketResponse:
        self.session.closed_code = code
        await self.ws.close(code=code)
        return self.ws

    # --- the stream ------------------------------------------------------------------

    async def read_loop(self) -> None:
        while True:
            try:
                message = await self.ws.receive(timeout=self.config.idle_timeout)
            except TimeoutError:
                return  # idle: closed normally with no error first, as observed
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return
            if message.type != WSMsgType.TEXT:
                await self.input_error("Message must be a valid protocol message")
                return
            if not await self.handle(message.data):
                return

    async def input_error(self, text: str) -> None:
        await self.send({"message_type": "input_error", "error": text})
        await self.close(1008)

    async def handle(self, data: str) -> bool:
        try:
            message = json.loads(data)
        except ValueError:
            await self.input_error("Message must be a valid protocol message")
            return False
        if not isinstance(message, dict) or message.get("message_type") != "input_audio_chunk":
            kind = message.get("message_type") if isinstance(message, dict) else None
            await self.input_error(f"Unexpected message type: {kind}")
            return False
        audio_b64, commit = message.get("audio_base_64"), message.get("commit")
        if (
            not isinstance(audio_b64, str)
            or not isinstance(commit, bool)
            or not isinstance(message.get("sample_rate"), int)
        ):
            await self.input_error("Invalid input_audio_chunk: audio_base_64, commit and sample_rate are required")
            return False
        if message.get("previous_text") is not None and not self.first_chunk:
            await self.input_error("previous_text is only allowed on the first chunk")
            return False
        if self.first_chunk:
            self.session.previous_text = message.get("previous_text")
        self.first_chunk = False
        try:
            pcm = base64.b64decode(audio_b64, validate=True)
        except (binascii.Error, ValueError):
            await self.input_error("audio_base_64 is not valid base64")
            return False
        if pcm:
            await self.audio(pcm)
        if commit and self.fault and self.fault.kind == "drop_on_commit":
            self.fault = None
            self.request.transport.close()
            return False
        if commit:
            await self.commit()
        return await self.apply_fault()

    async def audio(self, pcm: bytes) -> None:
        if self.fault and self.fault.kind == "pace":  # working through it takes this long
            await asyncio.sleep(len(pcm) / (2 * self.sample_rate) * self.fault.delay)
        self.session.chunks += 1
        if self.config.keep_audio:
            self.session.audio += pcm
        if self.config.echo:
            key = pcm[:8].hex()
            self.config.arrivals[key] = time.monotonic()
            await self.send({"message_type": "partial_transcript", "text": f"echo:{key}"})
            return
        self.segment += pcm
        seconds = len(pcm) / (2 * self.sample_rate)
        self.received_seconds += seconds
        self.track_vad(pcm)
        await self.maybe_partial()
        if self.vad and self.heard_speech and self.silence >= self.silence_needed:
            await self.commit()
        elif len(self.segment) / (2 * self.sample_rate) >= AUTO_COMMIT_SECONDS:
            await self.commit()

    def track_vad(self, pcm: bytes) -> None:
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
        frame = self.sample_rate // 100
        for start in range(0, len(samples) - frame + 1, frame):
            rms = float(np.sqrt(np.mean(np.square(samples[start : start + frame]))))
            if rms >= SILENCE_RMS:
                self.heard_speech, self.silence = True, 0.0
            else:
                self.silence += 0.01

    def segment_text(self) -> str:
        script = self.config.script or [""]
        return script[self.config.segments_sent % len(script)]

    async def maybe_partial(self) -> None:
        if not self.heard_speech:
            return
        seconds = len(self.segment) / (2 * self.sample_rate)
        if self.fake.hear is not None:
            seconds = len(self.segment) / (2 * self.sample_rate)
            if int(seconds * 2) > self.partial_words:  # twice a second of audio
                self.partial_words = int(seconds * 2)
                heard = self.fake.hear(bytes(self.segment))
                await self.send({"message_type": "partial_transcript", "text": " ".join(w for w, _, _ in heard)})
            return
        if self.config.transcriber is not None:
            busy = self.job is not None and not self.job.done()
            if int(seconds) > self.partial_words and not busy:  # about once a second of audio
                self.partial_words = int(seconds)
                audio = bytes(self.segment)

                async def partial() -> None:
                    text = await asyncio.to_thread(self.config.transcriber, audio)
                    await self.send({"message_type": "partial_transcript", "text": text})

                self.later(partial)
            return
        words = self.segment_text().split()
        shown = min(len(words), 1 + int(seconds * 3))
        if shown != self.partial_words:
            self.partial_words = shown
            await self.send({"message_type": "partial_transcript", "text": " ".join(words[:shown])})

    async def commit(self) -> None:
        self.session.commits += 1
        if self.fault and self.fault.kind == "never_commit":
            self.segment.clear()
            self.heard_speech, self.silence = False, 0.0
            return
        await asyncio.sleep(self.config.commit_delay)
        seconds = len(self.segment) / (2 * self.sample_rate)
        audio = bytes(self.segment)
        text = ""
        if self.fake.hear is not None:
            start, end = self.segment_start, self.segment_start + seconds
            self.segment.clear()
            self.segment_start, self.heard_speech, self.silence, self.partial_words = end, False, 0.0, -1
            await self.send_heard(audio, start)
            return
        if self.config.transcriber is None and self.heard_speech:
            text = self.segment_text()
            self.config.segments_sent += 1
        start, end = self.segment_start, self.segment_start + seconds
        self.segment.clear()
        self.segment_start, self.heard_speech, self.silence, self.partial_words = end, False, 0.0, -1
        if self.config.transcriber is not None:
            # Transcribe off the read loop (a real server keeps reading audio
            # while it works), in order with the partials before it.
            async def committed() -> None:
                result = await asyncio.to_thread(self.config.transcriber, audio) if audio else ""
                await self.send_committed(result, start, end)

            self.later(committed)
            return
        await self.send_committed(text, start, end)

    async def send_heard(self, audio: bytes, start: float) -> None:
        heard = self.fake.hear(audio, start)
        text = " ".join(word for word, _, _ in heard)
        await self.send({"message_type": "committed_transcript", "text": text})
        if self.timestamps:
            words: list[dict] = []
            for word, begin, end in heard:
                if words:
                    space = {"text": " ", "start": words[-1]["end"], "end": begin, "type": "spacing", "logprob": 0.0}
                    words.append(space)
                words.append({"text": word, "start": begin, "end": end, "type": "word", "logprob": -0.05})
            await self.send(
                {
                    "message_type": "committed_transcript_with_timestamps",
                    "text": text,
                    "language_code": self.params.get("language_code") or "en",
                    "words": words,
                }
            )

    def later(self, job) -> None:
        previous = self.job

        async def run() -> None:
            if previous is not None:
                await previous
            with contextlib.suppress(ConnectionResetError, RuntimeError):
                await job()

        self.job = asyncio.create_task(run())

    async def send_committed(self, text: str, start: float, end: float) -> None:
        await self.send({"message_type": "committed_transcript", "text": text})
        if self.timestamps:
            await self.send(
                {
                    "message_type": "committed_transcript_with_timestamps",
                    "text": text,
                    # Only when asked for (include_language_detection), as Scribe does.
                    "language_code": (self.params.get("language_code") or self.fake.detected_language)
                    if self.params.get("include_language_detection") == "true"
                    else None,
                    "words": timed_words(text, start, end),
                }
            )

    async def apply_fault(self) -> bool:
        fault = self.fault
        if fault is None or fault.kind not in ("drop", "error") or self.received_seconds < fault.delay:
            return True
        self.fault = None
        if fault.kind == "drop":
            self.request.transport.close()  # no close frame: the connection just dies
            return False
        await self.send(dict(fault.body))
        await self.close(fault.status if 1000 <= fault.status < 5000 else 1000)
        return False


def timed_words(text: str, start: float, end: float) -> list[dict]:
    """Words spread evenly over the segment, with spacing between, in the
    shape of `committed_transcript_with_timestamps`."""
    parts = text.split()
    if not parts:
        return []
    step = (end - start) / len(parts)
    words: list[dict] = []
    for i, part in enumerate(parts):
        if words:
            words.append(
                {
                    "text": " ",
                    "start": words[-1]["end"],
                    "end": round(start + i * step, 3),
                    "type": "spacing",
                    "logprob": 0.0,
                }
            )
        words.append(
            {
                "text": part,
                "start": round(start + i * step, 3),
                "end": round(start + (i + 0.9) * step, 3),
                "type": "word",
                "logprob": -0.05,
                "speaker_id": "speaker_0",
                "characters": [
                    {"text": c, "start": round(start + i * step, 3), "end": round(start + (i + 0.9) * step, 3)}
                    for c in part
                ],
            }
        )
    return words
