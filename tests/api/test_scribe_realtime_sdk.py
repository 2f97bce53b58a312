"""The official `elevenlabs` Python SDK's realtime client against a running
Verbatim (Daphne, the local engine): `speech_to_text.realtime.connect`
with the API token as `xi-api-key`, and with a single-use token the SDK
minted, streams a recording of speech, commits, gets the text back, and
each session is a transcript in the user's library."""

from __future__ import annotations

import asyncio
import base64

import numpy as np
import pytest
from asgiref.sync import sync_to_async
from elevenlabs import AsyncElevenLabs
from elevenlabs.realtime.connection import RealtimeEvents
from elevenlabs.realtime.scribe import AudioFormat, CommitStrategy

from api.models import ApiToken
from realtime.models import LiveSession, LiveStatus
from tests import support
from tests.realtime.live_support import silence, speech_pcm
from tests.web import words_found
from transcripts.models import Transcript

pytestmark = [pytest.mark.slow, pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
# (The live engine's small model hears this one well: see tests/realtime/test_live_local.py.)
SPOKEN = (
    "Please remember to water the garden every morning before the sun gets too hot. "
    "The children walked to the library after school on a quiet afternoon."
)


@pytest.fixture
def pcm() -> bytes:
    """The recording as 16 kHz PCM16, with a second of silence after it."""
    return speech_pcm(support.speech_file(SPOKEN)) + silence(1.0)


@pytest.fixture
def key(user) -> str:
    return ApiToken.issue(user, name="realtime sdk")[1]


def at_rate(pcm: bytes, rate: int) -> bytes:
    """16 kHz PCM16 resampled (linearly) to `rate`, as a client's microphone might give it."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    times = np.arange(int(len(samples) * rate / 16000)) * 16000 / rate
    return np.interp(times, np.arange(len(samples)), samples).astype("<i2").tobytes()


class Heard:
    """What the SDK's event handlers were given."""

    def __init__(self, connection) -> None:
        self.events: dict[str, list[dict]] = {}
        for event in (
            RealtimeEvents.SESSION_STARTED,
            RealtimeEvents.PARTIAL_TRANSCRIPT,
            RealtimeEvents.COMMITTED_TRANSCRIPT,
            RealtimeEvents.COMMITTED_TRANSCRIPT_WITH_TIMESTAMPS,
            RealtimeEvents.ERROR,
            RealtimeEvents.CLOSE,
        ):
            connection.on(event, lambda data=None, event=event: self.events.setdefault(event.value, []).append(data))

    def of(self, event: RealtimeEvents) -> list[dict]:
        return self.events.get(event.value, [])

    async def until(self, event: RealtimeEvents, count: int = 1, timeout: float = 60) -> list[dict]:
        for _ in range(int(timeout * 20)):
            if len(self.of(event)) >= count:
                return self.of(event)
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {count} {event.value} in {self.events}")


async def stream(connection, pcm: bytes, seconds_per_chunk: float, rate: int) -> None:
    size = int(rate * seconds_per_chunk) * 2
    for start in range(0, len(pcm), size):
        await connection.send({"audio_base_64": base64.b64encode(pcm[start : start + size]).decode()})


async def saved_text(session_id: str) -> tuple[Transcript, str]:
    """The session's transcript in the library, once saved, and its text."""

    def ended():
        return LiveSession.objects.filter(uuid=session_id, status=LiveStatus.ENDED).select_related("transcript").first()

    session = await sync_to_async(support.wait_until)(ended, 60, message="the session saved")
    transcript = await sync_to_async(lambda: session.transcript)()
    result = await sync_to_async(lambda: transcript.result)()
    return transcript, result.text


async def test_the_elevenlabs_sdk_streams_to_verbatim_realtime(make_site, user, key, pcm):
    site = await sync_to_async(make_site)(worker=False, DEFAULT_ENGINE="local")
    client = AsyncElevenLabs(api_key=key, base_url=site.base_url)

    # With the API token as xi-api-key: manual commits, timestamps.
    connection = await client.speech_to_text.realtime.connect(
        {
            "model_id": "scribe_v2_realtime",
            "audio_format": AudioFormat.PCM_16000,
            "sample_rate": 16000,
            "language_code": "en",
            "include_timestamps": True,
        }
    )
    heard = Heard(connection)
    (started,) = await heard.until(RealtimeEvents.SESSION_STARTED)
    assert started["config"]["audio_format"] == "pcm_16000" and started["config"]["language_code"] == "en"
    await stream(connection, pcm, 0.25, 16000)
    await connection.commit()
    (committed,) = await heard.until(RealtimeEvents.COMMITTED_TRANSCRIPT)
    (timed,) = await heard.until(RealtimeEvents.COMMITTED_TRANSCRIPT_WITH_TIMESTAMPS)
    await connection.close()
    assert words_found(SPOKEN, committed["text"]) >= 0.8, committed
    assert timed["text"] == committed["text"] and timed["language_code"] == "en"
    words = [word for word in timed["words"] if word["type"] == "word"]
    assert words and all(0 <= word["start"] <= word["end"] <= len(pcm) / 32000 + 0.5 for word in words)
    assert heard.of(RealtimeEvents.PARTIAL_TRANSCRIPT) and not heard.of(RealtimeEvents.ERROR)
    transcript, text = await saved_text(started["session_id"])
    assert transcript.owner_id == user.pk and words_found(SPOKEN, text) >= 0.8  # in the library

    # With a single-use token the SDK minted, 44.1 kHz audio, VAD commits.
    token = (await client.tokens.single_use.create("realtime_scribe")).token
    keyless = AsyncElevenLabs(api_key="not-sent-with-a-token", base_url=site.base_url)
    connection = await keyless.speech_to_text.realtime.connect(
        {
            "model_id": "scribe_v2_realtime",
            "audio_format": AudioFormat.PCM_44100,
            "sample_rate": 44100,
            "commit_strategy": CommitStrategy.VAD,
            "token": token,
        }
    )
    heard = Heard(connection)
    (started,) = await heard.until(RealtimeEvents.SESSION_STARTED)
    await stream(connection, at_rate(pcm, 44100), 0.1, 44100)
    await heard.until(RealtimeEvents.COMMITTED_TRANSCRIPT)
    await asyncio.sleep(2)  # the engine commits the rest as it settles
    await connection.close()
    vad_text = " ".join(message["text"] for message in heard.of(RealtimeEvents.COMMITTED_TRANSCRIPT))
    assert words_found(SPOKEN, vad_text) >= 0.6, heard.events
    transcript, text = await saved_text(started["session_id"])
    assert transcript.owner_id == user.pk and words_found(SPOKEN, text) >= 0.8
    print(site.logs())
