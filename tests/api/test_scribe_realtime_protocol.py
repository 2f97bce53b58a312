"""The Scribe realtime protocol's pieces (scribe-api.md §7): the handshake's
parameters, client chunks in every documented audio format turned into
16 kHz PCM16, and the server's messages."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from api.compat import scribe_realtime_protocol as protocol


def chunk(pcm: bytes, **extra) -> str:
    message = {"message_type": "input_audio_chunk", "audio_base_64": base64.b64encode(pcm).decode(), "commit": False}
    return json.dumps({**message, **extra})


def tone(rate: int, seconds: float = 1.0, frequency: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.3 * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2")


def test_the_handshake_parameters_and_their_defaults():
    options = protocol.options_from(b"model_id=scribe_v2_realtime&commit_strategy=vad&include_timestamps=true")
    assert options.audio_format == "pcm_16000" and options.sample_rate == 16000
    assert options.commit_strategy == "vad" and options.include_timestamps and options.enable_logging
    twice = protocol.options_from(b"model_id=m&audio_format=pcm_8000&audio_format=pcm_8000")  # the JS SDK's duplicate
    assert twice.sample_rate == 8000


@pytest.mark.parametrize(
    "query",
    [b"", b"model_id=m&audio_format=mp3", b"model_id=m&commit_strategy=turbo", b"model_id=m&language_code=english!",
     b"model_id=m&include_timestamps=yes", b"model_id=m&vad_threshold=5"],
)  # fmt: skip
def test_bad_parameters_are_an_invalid_request_closed_1008(query):
    with pytest.raises(protocol.ProtocolError) as refused:
        protocol.options_from(query)
    assert refused.value.message_type == "invalid_request" and refused.value.close_code == 1008


def test_pcm_16000_passes_through_and_commit_and_previous_text_are_read():
    decoder = protocol.ChunkDecoder(protocol.options_from(b"model_id=m"))
    pcm = tone(16000, 0.1).tobytes()
    first = decoder.decode(chunk(pcm, sample_rate=16000, previous_text="earlier words"))
    assert first.pcm == pcm and not first.commit and first.previous_text == "earlier words"
    commit = decoder.decode(chunk(b"", commit=True, sample_rate=16000, previous_text=None))  # the PY SDK sends null
    assert commit.commit and commit.pcm == b""
    with pytest.raises(protocol.ProtocolError, match="only allowed on the first chunk"):
        decoder.decode(chunk(pcm, previous_text="again"))


@pytest.mark.parametrize("audio_format", ["pcm_8000", "pcm_22050", "pcm_24000", "pcm_44100", "pcm_48000"])
def test_other_rates_are_resampled_to_16_khz(audio_format):
    options = protocol.options_from(f"model_id=m&audio_format={audio_format}".encode())
    decoder = protocol.ChunkDecoder(options)
    source = tone(options.sample_rate, 1.0)
    out = b"".join(decoder.decode(chunk(part.tobytes())).pcm for part in np.array_split(source, 10))
    samples = np.frombuffer(out, dtype="<i2").astype(float)
    assert abs(len(samples) - 16000) < 400  # the resampler keeps a few ms back
    spectrum = np.abs(np.fft.rfft(samples[1000:15000]))
    peak = np.argmax(spectrum) * 16000 / 14000
    assert abs(peak - 440) < 5  # the same tone, at the same pitch


def test_ulaw_8000_is_decoded():
    assert protocol.ULAW[0xFF] == 0 and protocol.ULAW[0x00] == -32124 and protocol.ULAW[0x80] == 32124
    decoder = protocol.ChunkDecoder(protocol.options_from(b"model_id=m&audio_format=ulaw_8000"))
    out = decoder.decode(chunk(bytes([0xFF, 0x80] * 4000))).pcm
    assert abs(len(out) // 2 - 16000) < 400


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("not json", "input_error"),
        (json.dumps({"message_type": "commit"}), "input_error"),
        (json.dumps({"message_type": "input_audio_chunk", "audio_base_64": "!!", "commit": False}), "input_error"),
        (json.dumps({"message_type": "input_audio_chunk", "audio_base_64": "AA=="}), "input_error"),
        (chunk(b"\0" * (protocol.MAX_CHUNK_BYTES + 2)), "chunk_size_exceeded"),
        (chunk(b"\0\0", sample_rate=44100), "input_error"),
        (chunk(b"\0\0\0"), "input_error"),
    ],
)
def test_bad_messages_get_their_error_type(text, kind):
    decoder = protocol.ChunkDecoder(protocol.options_from(b"model_id=m"))
    with pytest.raises(protocol.ProtocolError) as refused:
        decoder.decode(text)
    assert refused.value.message_type == kind


def test_session_started_has_the_observed_config_keys():
    started = protocol.session_started(protocol.options_from(b"model_id=scribe_v2_realtime&commit_strategy=vad"))
    assert started["message_type"] == "session_started" and len(started["session_id"]) == 32
    config = started["config"]
    assert config["vad_commit_strategy"] is True and config["disable_logging"] is False
    assert config["sample_rate"] == 16000 and config["model_id"] == "scribe_v2_realtime"
    words = [{"text": "hi", "start": 0.1, "end": 0.3, "type": "word", "logprob": -0.1, "extra": 1}]
    assert protocol.committed_with_timestamps("hi", "en", words)["words"] == [
        {k: v for k, v in words[0].items() if k != "extra"}
    ]
