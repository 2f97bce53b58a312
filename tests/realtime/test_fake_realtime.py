"""The fake Scribe realtime server, driven by the official `elevenlabs` SDK
(the reference client), so the consumer's tests run against something that
speaks the real protocol."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import struct

import pytest
import websockets
from elevenlabs import AsyncElevenLabs
from elevenlabs.realtime.connection import RealtimeEvents
from elevenlabs.realtime.scribe import AudioFormat, CommitStrategy

from tests.fakes.scribe import FakeScribe, Fault


def tone(seconds: float, amplitude: float = 0.3) -> bytes:
    count = int(16000 * seconds)
    return b"".join(
        struct.pack("<h", int(amplitude * 32767 * math.sin(2 * math.pi * 220 * i / 16000))) for i in range(count)
    )


def silence(seconds: float) -> bytes:
    return b"\0\0" * int(16000 * seconds)


@pytest.fixture
def fake():
    with FakeScribe() as server:
        yield server


async def sdk_session(fake, options: dict, audio: list[bytes], *, commit: bool):
    client = AsyncElevenLabs(base_url=fake.base_url, api_key=fake.api_key)
    connection = await client.speech_to_text.realtime.connect(options)
    events: list[tuple[str, dict]] = []
    for kind in (
        RealtimeEvents.SESSION_STARTED,
        RealtimeEvents.PARTIAL_TRANSCRIPT,
        RealtimeEvents.COMMITTED_TRANSCRIPT,
        RealtimeEvents.COMMITTED_TRANSCRIPT_WITH_TIMESTAMPS,
        RealtimeEvents.ERROR,
    ):
        connection.on(kind, lambda data, kind=kind: events.append((kind.value, data)))
    for chunk in audio:
        await connection.send({"audio_base_64": base64.b64encode(chunk).decode()})
    if commit:
        await connection.commit()
    await asyncio.sleep(0.5)
    await connection.close()
    return events


@pytest.mark.asyncio
async def test_sdk_manual_commit_gets_partials_then_committed_text_with_timestamps(fake):
    fake.realtime.script = ["hello from the fake"]
    events = await sdk_session(
        fake,
        {
            "model_id": "scribe_v2_realtime",
            "audio_format": AudioFormat.PCM_16000,
            "sample_rate": 16000,
            "include_timestamps": True,
        },
        [tone(0.25) for _ in range(4)],
        commit=True,
    )
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "session_started"
    assert events[0][1]["config"]["vad_commit_strategy"] is False
    assert "partial_transcript" in kinds
    committed = [data for kind, data in events if kind == "committed_transcript"]
    assert [c["text"] for c in committed] == ["hello from the fake"]
    timed = [data for kind, data in events if kind == "committed_transcript_with_timestamps"][0]
    words = [w for w in timed["words"] if w["type"] == "word"]
    assert [w["text"] for w in words] == ["hello", "from", "the", "fake"]
    assert words[-1]["end"] <= 1.0 + 1e-6
    session = fake.realtime.sessions[-1]
    assert session.auth == "key" and len(session.audio) == 4 * 8000
    assert dict(session.query)["commit_strategy"] == "manual"


@pytest.mark.asyncio
async def test_sdk_vad_commits_after_silence(fake):
    fake.realtime.script = ["first part", "second part"]
    audio = [tone(0.25)] * 4 + [silence(0.25)] * 3 + [tone(0.25)] * 4 + [silence(0.25)] * 3
    events = await sdk_session(
        fake,
        {
            "model_id": "scribe_v2_realtime",
            "audio_format": AudioFormat.PCM_16000,
            "sample_rate": 16000,
            "commit_strategy": CommitStrategy.VAD,
            "vad_silence_threshold_secs": 0.5,
        },
        audio,
        commit=False,
    )
    assert [d["text"] for k, d in events if k == "committed_transcript"] == ["first part", "second part"]


@pytest.mark.asyncio
async def test_single_use_token_works_once_then_auth_error_and_close_1000(fake):
    client = AsyncElevenLabs(base_url=fake.base_url, api_key=fake.api_key)
    token = (await client.tokens.single_use.create("realtime_scribe")).token
    url = f"{fake.ws_url}/v1/speech-to-text/realtime?model_id=scribe_v2_realtime&token={token}"
    async with websockets.connect(url) as ws:
        assert json.loads(await ws.recv())["message_type"] == "session_started"
    async with websockets.connect(url) as ws:  # the same token again
        assert json.loads(await ws.recv()) == {
            "message_type": "auth_error",
            "error": "You must be authenticated to use this endpoint.",
        }
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1000


@pytest.mark.asyncio
async def test_bad_parameters_get_invalid_request_and_close_1008(fake):
    url = f"{fake.ws_url}/v1/speech-to-text/realtime?model_id=scribe_v2_realtime&language_code=English"
    async with websockets.connect(url, additional_headers={"xi-api-key": fake.api_key}) as ws:
        assert json.loads(await ws.recv())["message_type"] == "invalid_request"
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1008


@pytest.mark.asyncio
async def test_unknown_message_type_is_an_input_error(fake):
    url = f"{fake.ws_url}/v1/speech-to-text/realtime?model_id=scribe_v2_realtime"
    async with websockets.connect(url, additional_headers={"xi-api-key": fake.api_key}) as ws:
        await ws.recv()
        await ws.send(json.dumps({"message_type": "commit"}))
        assert json.loads(await ws.recv())["message_type"] == "input_error"


@pytest.mark.asyncio
async def test_injected_error_reaches_the_sdk_as_an_error_event(fake):
    fake.faults.push(
        "realtime", Fault("error", body={"message_type": "rate_limited", "error": "Too many"}, delay=0.5, status=1000)
    )
    events = await sdk_session(
        fake,
        {"model_id": "scribe_v2_realtime", "audio_format": AudioFormat.PCM_16000, "sample_rate": 16000},
        [tone(0.25)] * 4,
        commit=False,
    )
    assert ("error", {"message_type": "rate_limited", "error": "Too many"}) in events
