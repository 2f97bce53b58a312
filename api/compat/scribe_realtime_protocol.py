"""The Scribe realtime wire protocol (../shared/scribe-api.md §7), as pure
functions and one small stateful decoder: the handshake's query string,
the client's `input_audio_chunk` messages (base64 audio in any documented
`audio_format`, turned into the 16 kHz PCM16 the live relay takes), and the
server's messages. The socket itself is scribe_realtime.py."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs

import av
import numpy as np

SAMPLE_RATE = 16000
AUDIO_FORMATS = {
    "pcm_8000": 8000,
    "pcm_16000": 16000,
    "pcm_22050": 22050,
    "pcm_24000": 24000,
    "pcm_44100": 44100,
    "pcm_48000": 48000,
    "ulaw_8000": 8000,
}
COMMIT_STRATEGIES = ("manual", "vad")
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
TRUE, FALSE = "true", "false"
# Largest decoded chunk taken (about 2 s of 48 kHz PCM16); Scribe recommends 0.1-1 s.
MAX_CHUNK_BYTES = 192_000

# Closing codes (§7.5): 1000 after auth errors and normal ends, 1008 after invalid_request.
CLOSE_NORMAL, CLOSE_POLICY = 1000, 1008
AUTH_ERROR = "You must be authenticated to use this endpoint."


class ProtocolError(Exception):
    """`message_type` names the error message sent before the socket closes."""

    def __init__(self, message_type: str, message: str, close_code: int = CLOSE_POLICY):
        super().__init__(message)
        self.message_type, self.close_code = message_type, close_code


@dataclass(frozen=True)
class RealtimeOptions:
    model_id: str
    audio_format: str = "pcm_16000"
    commit_strategy: str = "manual"
    language_code: str = ""
    include_timestamps: bool = False
    include_language_detection: bool = False
    enable_logging: bool = True
    vad_silence_threshold_secs: float = 1.5
    vad_threshold: float = 0.4
    min_speech_duration_ms: int = 100
    min_silence_duration_ms: int = 100

    @property
    def sample_rate(self) -> int:
        return AUDIO_FORMATS[self.audio_format]


def _flag(query: dict, name: str, default: bool) -> bool:
    value = (query.get(name) or [""])[0].lower()
    if not value:
        return default
    if value not in (TRUE, FALSE):
        raise ProtocolError("invalid_request", f"{name} must be true or false.")
    return value == TRUE


def _number(query: dict, name: str, kind, low, high, default):
    raw = (query.get(name) or [""])[0]
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ProtocolError("invalid_request", f"{name} must be a number.") from None
    if not low <= value <= high:
        raise ProtocolError("invalid_request", f"{name} must be between {low} and {high}.")
    return value


def options_from(query_string: bytes) -> RealtimeOptions:
    """The handshake's parameters (§7.2); a repeated key takes its first value."""
    query = parse_qs(query_string.decode("latin-1"))
    model_id = (query.get("model_id") or [""])[0]
    if not model_id:
        raise ProtocolError("invalid_request", "model_id is required.")
    audio_format = (query.get("audio_format") or ["pcm_16000"])[0]
    if audio_format not in AUDIO_FORMATS:
        raise ProtocolError("invalid_request", f"Invalid audio_format; one of: {', '.join(AUDIO_FORMATS)}.")
    strategy = (query.get("commit_strategy") or ["manual"])[0]
    if strategy not in COMMIT_STRATEGIES:
        raise ProtocolError("invalid_request", "commit_strategy must be manual or vad.")
    language = (query.get("language_code") or [""])[0].lower()
    if language and not LANGUAGE.match(language):
        raise ProtocolError("invalid_request", "Invalid language code.")
    return RealtimeOptions(
        model_id=model_id,
        audio_format=audio_format,
        commit_strategy=strategy,
        language_code=language,
        include_timestamps=_flag(query, "include_timestamps", False),
        include_language_detection=_flag(query, "include_language_detection", False),
        enable_logging=_flag(query, "enable_logging", True),
        vad_silence_threshold_secs=_number(query, "vad_silence_threshold_secs", float, 0.3, 3.0, 1.5),
        vad_threshold=_number(query, "vad_threshold", float, 0.1, 0.9, 0.4),
        min_speech_duration_ms=_number(query, "min_speech_duration_ms", int, 50, 2000, 100),
        min_silence_duration_ms=_number(query, "min_silence_duration_ms", int, 50, 2000, 100),
    )


# --- from the client ----------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    pcm: bytes  # 16 kHz mono PCM16
    commit: bool
    previous_text: str | None


# ITU-T G.711 mu-law, decoded to 16-bit linear once.
def _ulaw_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = ((mantissa << 3) + 0x84) << exponent
    return np.where(sign, 0x84 - magnitude, magnitude - 0x84).astype("<i2")


ULAW = _ulaw_table()


class ChunkDecoder:
    """Turns a socket's client messages into 16 kHz PCM16, keeping the
    resampler's state from one chunk to the next."""

    def __init__(self, options: RealtimeOptions):
        self.options = options
        self.chunks = 0
        self.resampler = (
            av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            if options.sample_rate != SAMPLE_RATE
            else None
        )

    def decode(self, text: str | None) -> Chunk:
        message = self._message(text)
        audio = message.get("audio_base_64")
        if not isinstance(audio, str) or not isinstance(message.get("commit"), bool):
            raise ProtocolError("input_error", "audio_base_64 and commit are required.", CLOSE_NORMAL)
        previous = message.get("previous_text")
        if previous is not None and self.chunks:
            raise ProtocolError("input_error", "previous_text is only allowed on the first chunk.", CLOSE_NORMAL)
        sample_rate = message.get("sample_rate")
        if sample_rate is not None and sample_rate != self.options.sample_rate:
            raise ProtocolError(
                "input_error", f"sample_rate {sample_rate} does not match {self.options.audio_format}.", CLOSE_NORMAL
            )
        self.chunks += 1
        return Chunk(self._pcm(audio), message["commit"], previous if isinstance(previous, str) else None)

    def _message(self, text: str | None) -> dict:
        try:
            message = json.loads(text or "")
        except ValueError:
            message = None
        if not isinstance(message, dict):
            raise ProtocolError("input_error", "Message must be a valid protocol message", CLOSE_NORMAL)
        if message.get("message_type") != "input_audio_chunk":
            raise ProtocolError("input_error", f"Unexpected message type: {message.get('message_type')}", CLOSE_NORMAL)
        return message

    def _pcm(self, audio: str) -> bytes:
        try:
            raw = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("input_error", "audio_base_64 is not valid base64.", CLOSE_NORMAL) from None
        if len(raw) > MAX_CHUNK_BYTES:
            raise ProtocolError("chunk_size_exceeded", "The audio chunk is too large.", CLOSE_NORMAL)
        if self.options.audio_format == "ulaw_8000":
            samples = ULAW[np.frombuffer(raw, dtype=np.uint8)]
        else:
            if len(raw) % 2:
                raise ProtocolError("input_error", "PCM audio must be 16-bit samples.", CLOSE_NORMAL)
            samples = np.frombuffer(raw, dtype="<i2")
        if self.resampler is None or not len(samples):
            return samples.tobytes()
        return self._resample(samples)

    def _resample(self, samples: np.ndarray) -> bytes:
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.options.sample_rate
        return b"".join(out.to_ndarray().astype("<i2").tobytes() for out in self.resampler.resample(frame))


# --- to the client ------------------------------------------------------------------------


def session_started(options: RealtimeOptions, session_id: str | None = None) -> dict:
    """The observed config keys (§7.4)."""
    return {
        "message_type": "session_started",
        "session_id": session_id or uuid.uuid4().hex,
        "config": {
            "sample_rate": options.sample_rate,
            "audio_format": options.audio_format,
            "language_code": options.language_code or None,
            "secondary_languages": [],
            "timestamps_granularity": "word",
            "vad_commit_strategy": options.commit_strategy == "vad",
            "vad_silence_threshold_secs": options.vad_silence_threshold_secs,
            "vad_threshold": options.vad_threshold,
            "min_speech_duration_ms": options.min_speech_duration_ms,
            "min_silence_duration_ms": options.min_silence_duration_ms,
            "max_tokens_to_recompute": 5,
            "model_id": options.model_id,
            "disable_logging": not options.enable_logging,
            "include_timestamps": options.include_timestamps,
            "include_language_detection": options.include_language_detection,
        },
    }


def partial(text: str) -> dict:
    return {"message_type": "partial_transcript", "text": text}


def committed(text: str) -> dict:
    return {"message_type": "committed_transcript", "text": text}


def committed_with_timestamps(text: str, language_code: str | None, words: list[dict]) -> dict:
    keys = ("text", "start", "end", "type", "speaker_id", "logprob")
    return {
        "message_type": "committed_transcript_with_timestamps",
        "text": text,
        "language_code": language_code,
        "words": [{key: word[key] for key in keys if key in word} for word in words],
    }


def error(message_type: str, message: str) -> dict:
    return {"message_type": message_type, "error": message}
