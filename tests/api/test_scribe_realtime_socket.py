"""The Scribe-compatible realtime socket in-process (scribe-api.md §7):
the site's WebSocket application through Channels' WebsocketCommunicator,
authenticated by an API token in `xi-api-key` or a single-use
`realtime_scribe` token, with the fake Scribe on loopback as the server's
engine. Every session is a live session saved to the owner's library;
a bad message gets Scribe's error and loses nothing sent before it."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest
from asgiref.sync import sync_to_async

from api.compat import scribe_realtime_protocol as protocol
from api.models import ApiToken, SocketPurpose, SocketToken
from realtime.models import LiveSession, LiveStatus
from tests.fakes.scribe import FakeScribe
from tests.realtime.live_support import IN_MEMORY_LAYER, InProcessSocket, silence, tone
from transcripts.models import Transcript

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

PATH = "/v1/speech-to-text/realtime"
SPOKEN = ["alpha bravo charlie", "delta echo foxtrot", "golf hotel india"]


@pytest.fixture(autouse=True)
def channel_layer(settings):
    settings.CHANNEL_LAYERS = IN_MEMORY_LAYER  # as in tests/realtime/test_live_socket.py


@pytest.fixture
def fake(settings):
    """The server's engine is Scribe, played by the fake."""
    with FakeScribe() as server:
        server.realtime.script = list(SPOKEN)
        settings.ELEVENLABS_API_KEY = server.api_key
        settings.ELEVENLABS_BASE_URL = server.base_url
        settings.DEFAULT_ENGINE = "scribe"
        yield server


@pytest.fixture
def key(user) -> str:
    return ApiToken.issue(user, name="app")[1]


class ScribeClient(InProcessSocket):
    """A Scribe realtime client on the in-process site: Scribe's messages
    (`message_type`), sent as the official SDKs send them."""

    def __init__(self, query: str = "model_id=scribe_v2_realtime", *, key: str | None = None, sample_rate=16000):
        super().__init__(f"{PATH}?{query}")
        if key is not None:
            self.communicator.scope["headers"].append((b"xi-api-key", key.encode()))
        self.sample_rate = sample_rate

    async def chunk(self, pcm: bytes, *, commit: bool = False, **extra) -> None:
        message = {
            "message_type": "input_audio_chunk",
            "audio_base_64": base64.b64encode(pcm).decode(),
            "commit": commit,
            "sample_rate": self.sample_rate,
            **extra,
        }
        await self.send(json.dumps(message))

    async def audio(self, pcm: bytes, size: int = 8000) -> None:
        for start in range(0, len(pcm), size):
            await self.chunk(pcm[start : start + size])

    async def commit(self) -> None:
        await self.chunk(b"", commit=True)

    async def wait_for(self, kind: str, timeout: float = 15, count: int = 1, **match) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.of_type(kind) if all(m.get(k) == v for k, v in match.items())]
            if len(found) >= count:
                return found[count - 1]
            if self.reader is None or self.reader.done():
                break
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {count} {kind} {match} in {self.messages}")

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m.get("message_type") == kind]


def utterance() -> bytes:
    """Speech for the fake's VAD, then enough silence for it to commit (1 s)."""
    return tone(1.0) + silence(1.2)


async def saved_transcript() -> Transcript:
    session = await LiveSession.objects.select_related("transcript__result").aget()
    assert session.status == LiveStatus.ENDED and session.transcript is not None
    return session.transcript


async def test_an_api_key_streams_a_manual_session_into_the_library(fake, key, user):
    async with ScribeClient("model_id=scribe_v2_realtime&include_timestamps=true", key=key) as client:
        started = await client.wait_for("session_started")
        assert started["config"]["model_id"] == "scribe_v2_realtime" and started["config"]["sample_rate"] == 16000
        await client.audio(utterance() + utterance())  # the engine commits twice on its own...
        await client.wait_for("partial_transcript", text="alpha bravo charlie delta")
        assert not client.of_type("committed_transcript")  # ...but the segment is the client's
        await client.commit()
        committed = await client.wait_for("committed_transcript")
        assert committed["text"] == "alpha bravo charlie delta echo foxtrot"
        timed = await client.wait_for("committed_transcript_with_timestamps")
        assert timed["text"] == committed["text"]
        words = [w for w in timed["words"] if w["type"] == "word"]
        assert [w["text"] for w in words] == committed["text"].split()
        assert {w["type"] for w in timed["words"]} == {"word", "spacing"} and words[3]["start"] >= 2.0
        await client.audio(utterance())
        await client.commit()
        assert (await client.wait_for("committed_transcript", count=2))["text"] == "golf hotel india"
    session = await LiveSession.objects.aget()
    assert session.uuid.hex == started["session_id"] and session.owner_id == user.pk
    transcript = await saved_transcript()
    assert transcript.owner_id == user.pk
    assert transcript.result.text == " ".join(SPOKEN)


async def test_vad_mode_sends_each_segment_as_the_engine_commits_it(fake, key):
    async with ScribeClient("model_id=scribe_v2_realtime&commit_strategy=vad", key=key) as client:
        assert (await client.wait_for("session_started"))["config"]["vad_commit_strategy"] is True
        await client.audio(utterance() + utterance())
        assert (await client.wait_for("committed_transcript", count=2))["text"] == "delta echo foxtrot"
        assert client.of_type("committed_transcript")[0]["text"] == "alpha bravo charlie"
        assert not client.of_type("committed_transcript_with_timestamps")


async def test_a_single_use_token_opens_it_once(fake, user):
    secret = (await sync_to_async(SocketToken.issue)(user, SocketPurpose.REALTIME_SCRIBE))[1]
    async with ScribeClient(f"model_id=scribe_v2_realtime&token={secret}") as client:
        await client.wait_for("session_started")
    async with ScribeClient(f"model_id=scribe_v2_realtime&token={secret}") as again:
        assert await again.wait_closed() == 1000
        assert again.messages == [{"message_type": "auth_error", "error": protocol.AUTH_ERROR}]


@pytest.mark.parametrize("credential", ["none", "bad key", "read-only key", "live token", "cookie"])
async def test_without_a_usable_token_it_opens_then_says_auth_error_and_closes_1000(fake, user, credential):
    """As Scribe does (§7.1): the upgrade succeeds, the error comes as a message."""
    query, key = "model_id=scribe_v2_realtime", None
    if credential == "bad key":
        key = "vb_not-a-token"
    elif credential == "read-only key":
        key = (await sync_to_async(ApiToken.issue)(user, name="ro", read_only=True))[1]
    elif credential == "live token":  # minted for the live page's socket
        query += "&token=" + (await sync_to_async(SocketToken.issue)(user, SocketPurpose.LIVE))[1]
    client = ScribeClient(query, key=key)
    if credential == "cookie":  # a signed-in page's cookie is not a Scribe credential
        from tests.realtime.live_support import session_cookie

        cookie = await sync_to_async(session_cookie)(user)
        client.communicator.scope["headers"].append((b"cookie", f"sessionid={cookie}".encode()))
    async with client:
        assert client.accepted
        assert await client.wait_closed() == 1000
    assert client.messages == [{"message_type": "auth_error", "error": protocol.AUTH_ERROR}]
    assert await LiveSession.objects.acount() == 0 and not fake.realtime.sessions


@pytest.mark.parametrize(
    "query", ["audio_format=pcm_16000", "model_id=m&audio_format=mp3", "model_id=m&language_code=english!"]
)
async def test_bad_parameters_get_invalid_request_and_close_1008(fake, key, query):
    async with ScribeClient(query, key=key) as client:
        assert await client.wait_closed() == 1008
    (error,) = client.messages
    assert error["message_type"] == "invalid_request" and error["error"]
    assert await LiveSession.objects.acount() == 0 and not fake.realtime.sessions


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        json.dumps({"message_type": "commit"}),
        json.dumps({"message_type": "input_audio_chunk", "audio_base_64": "%%%", "commit": False}),
        json.dumps({"message_type": "input_audio_chunk", "commit": False}),
        json.dumps({"message_type": "input_audio_chunk", "audio_base_64": "", "commit": False, "previous_text": "x"}),
        json.dumps({"message_type": "input_audio_chunk", "audio_base_64": "", "commit": False, "sample_rate": 8000}),
        b"\0\0binary",
    ],
)
async def test_a_bad_message_gets_input_error_and_loses_nothing_sent_before(fake, key, user, bad):
    async with ScribeClient(key=key) as client:
        await client.wait_for("session_started")
        await client.audio(tone(1.0))  # not yet committed by anyone
        await client.send(bad)
        error = await client.wait_for("input_error")
        assert error["error"]
        assert await client.wait_closed() == 1000
    transcript = await saved_transcript()
    assert transcript.owner_id == user.pk and transcript.result.text == "alpha bravo charlie"
    assert (await LiveSession.objects.aget()).error == error["error"]


async def test_every_audio_format_reaches_the_engine_as_16_khz(fake, key):
    fake.realtime.keep_audio = True
    async with ScribeClient("model_id=m&audio_format=pcm_48000", key=key, sample_rate=48000) as client:
        await client.wait_for("session_started")
        for _ in range(10):
            await client.chunk(b"\1\0" * 4800)  # 0.1 s at 48 kHz
        await client.commit()
        await client.wait_for("committed_transcript")
    (session,) = fake.realtime.sessions
    assert abs(len(session.audio) - 32000) < 1000  # 1 s of 16 kHz PCM16


async def test_a_refused_session_is_a_scribe_error(fake, key, settings):
    settings.LIVE_MAX_SESSIONS_PER_USER = 0
    async with ScribeClient(key=key) as client:
        assert await client.wait_closed() == 1000
    (error,) = client.messages
    assert error["message_type"] == "rate_limited" and "live session" in error["error"]
    assert not fake.realtime.sessions


async def test_a_manual_segment_never_committed_is_committed_once_long_enough(fake, key, monkeypatch):
    from api.compat import scribe_realtime

    monkeypatch.setattr(scribe_realtime, "AUTO_COMMIT_SECONDS", 3.0)  # Scribe's is 90 s
    async with ScribeClient(key=key) as client:
        await client.audio(utterance() + utterance())
        committed = await client.wait_for("committed_transcript")
        assert committed["text"] == "alpha bravo charlie delta echo foxtrot"


async def test_previous_text_on_the_first_chunk_goes_to_the_engine_as_context(fake, key):
    async with ScribeClient(key=key) as client:
        await client.wait_for("session_started")
        await client.chunk(tone(0.25), previous_text="what was said before")
        await client.audio(utterance())
        await client.commit()
        await client.wait_for("committed_transcript")
    (session,) = fake.realtime.sessions
    assert session.previous_text == "what was said before"
