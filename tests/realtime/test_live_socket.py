"""The live captions socket in-process: the site's WebSocket application
(session auth, the Origin check, the consumers) through Channels'
WebsocketCommunicator, with the fake Scribe server on loopback as the
upstream. Who may connect, which frames are refused with which close code,
upstream errors and drops as the page sees them, the viewers' socket, and
the shared heartbeat."""

from __future__ import annotations

import asyncio
import logging

import pytest
from asgiref.sync import sync_to_async

from realtime import services
from realtime.models import LiveSession, LiveStatus
from realtime.upstreams import MESSAGES
from tests.fakes.scribe import FakeScribe, Fault
from tests.realtime.live_support import IN_MEMORY_LAYER, InProcessSocket, saved_as_one, session_cookie, tone, utterances
from transcripts.models import Status, Transcript

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

LIVE = "/ws/live/?engine=scribe"


@pytest.fixture(autouse=True)
def channel_layer(settings):
    """Channels' in-memory layer: the sockets and their viewers share this
    process. (With channels_redis, a consumer that refused its socket is
    left in the layer's blocking receive, whose cancellation can stall the
    test's event loop for seconds or for good; the Redis layer is exercised
    by the Daphne tests in test_live_consumer.py and by bench.live_proxy.)"""
    settings.CHANNEL_LAYERS = IN_MEMORY_LAYER


@pytest.fixture
def fake(settings):
    with FakeScribe() as server:
        server.realtime.script = ["alpha bravo charlie", "delta echo foxtrot", "golf hotel india", "juliet kilo lima"]
        settings.ELEVENLABS_API_KEY = server.api_key
        settings.ELEVENLABS_BASE_URL = server.base_url
        yield server


@pytest.fixture
def cookie(user):
    return session_cookie(user)


def upstream_calls(fake) -> int:
    return len(fake.requests_to("/v1/single-use-token")) + len(fake.realtime.sessions)


async def test_an_anonymous_socket_is_refused_before_any_upstream_call(fake):
    async with InProcessSocket(LIVE) as socket:
        assert not socket.accepted and socket.close_code == 4401
    assert upstream_calls(fake) == 0
    assert await LiveSession.objects.acount() == 0


async def test_a_socket_from_a_foreign_origin_is_refused_before_any_upstream_call(fake, cookie):
    async with InProcessSocket(LIVE, cookie, origin="http://evil.example") as socket:
        assert not socket.accepted
    assert upstream_calls(fake) == 0
    assert await LiveSession.objects.acount() == 0


@pytest.mark.parametrize(
    "frame, code, close_code",
    [
        (b"\0" * (64 * 1024 + 2), "frame_too_large", 1009),
        (b"\0" * 101, "malformed_frame", 1003),  # not 16-bit samples
        ("{not json", "malformed_frame", 1003),
        ('{"type": "start"}', "malformed_frame", 1003),
        ('["stop"]', "malformed_frame", 1003),
    ],
)
async def test_a_frame_the_server_cannot_take_closes_the_socket_with_its_code(fake, cookie, frame, code, close_code):
    async with InProcessSocket(LIVE, cookie) as socket:
        ready = await socket.wait_for("ready")
        await socket.send(frame)
        error = await socket.wait_for("error", code=code)
        assert await socket.wait_closed() == close_code
    assert error["message"] and error["fatal"]
    session = await LiveSession.objects.aget(uuid=ready["session"])
    assert session.status == LiveStatus.ENDED and session.error == error["message"]


async def test_a_third_concurrent_session_is_refused(fake, cookie):
    async with InProcessSocket(LIVE, cookie) as first, InProcessSocket(LIVE, cookie) as second:
        await first.wait_for("ready")
        await second.wait_for("ready")
        async with InProcessSocket(LIVE, cookie) as third:
            error = await third.wait_for("error", code="session_limit")
            assert await third.wait_closed() == 4429
    assert "limit is 2" in error["message"]
    assert len(fake.realtime.sessions) == 2


async def test_a_resume_the_server_refuses_is_closed_with_the_reason(fake, cookie):
    async with InProcessSocket(f"{LIVE}&resume=not-a-uuid", cookie) as socket:
        refused = await socket.wait_for("error", code="not_resumable")
        assert await socket.wait_closed() == 4429
    assert refused["message"] and upstream_calls(fake) == 0


@pytest.mark.parametrize(
    "code",
    [
        "rate_limited",
        "quota_exceeded",
        "session_time_limit_exceeded",
        "resource_exhausted",
        "auth_error",
        "input_error",
        "unaccepted_terms",
    ],
)
async def test_each_upstream_error_becomes_a_clear_message(fake, cookie, code):
    fake.faults.push(
        "realtime",
        Fault(
            "error",
            body={"message_type": code, "error": f"upstream says {code}"},
            delay=0.5,
            status=1000 if code != "input_error" else 1008,
        ),
    )
    async with InProcessSocket(LIVE, cookie) as socket:
        await socket.wait_for("ready")
        await socket.stream(tone(1.0))
        error = await socket.wait_for("error", code=code)
        if error["fatal"]:  # the session is saved and the page told so
            await socket.wait_for("ended")
            assert await socket.wait_closed() == 1000
    assert error["message"] == MESSAGES[code]
    assert "upstream says" not in str(socket.messages)


async def test_an_upstream_drop_reconnects_with_a_new_token_and_keeps_committed_text(fake, cookie, caplog):
    caplog.set_level(logging.DEBUG)
    fake.faults.push("realtime", Fault("drop", delay=2.5))
    async with InProcessSocket(LIVE, cookie) as socket:
        await socket.wait_for("ready")
        await socket.stream(utterances(3), realtime=4)
        await socket.wait_for("status", state="connected")
        await socket.wait_for("committed", text="golf hotel india")
        ended = await socket.stop()
    assert await socket.wait_for("status", state="reconnecting")
    tokens = fake.requests_to("/v1/single-use-token/realtime_scribe", "POST")
    assert len(tokens) == 2 and len(fake.realtime.sessions) == 2
    assert [s.auth for s in fake.realtime.sessions] == ["token", "token"]
    # The new socket hears the audio after the break with what came before it as context.
    assert [s.previous_text for s in fake.realtime.sessions] == [None, "alpha bravo charlie"]
    texts = [m["text"] for m in socket.of_type("committed")]
    assert texts[0] == "alpha bravo charlie" and texts[-1] == "golf hotel india"
    transcript = await Transcript.objects.select_related("result").aget(pk=ended["transcript"])
    assert transcript.result.text.startswith("alpha bravo charlie")
    assert transcript.result.text.endswith("golf hotel india")
    assert "Scribe realtime reconnected" in caplog.text  # the log was captured
    assert fake.api_key not in caplog.text and fake.api_key not in str(socket.messages)


async def test_a_page_that_closes_without_stop_has_its_session_saved(fake, cookie):
    async with InProcessSocket(LIVE, cookie) as socket:
        ready = await socket.wait_for("ready")
        await socket.stream(utterances(1) + tone(0.6))
        await socket.wait_for("committed")
    # no stop: the socket just closed (1000), and the consumer has finished with it
    session = await LiveSession.objects.select_related("transcript__result", "transcript__media").aget(
        uuid=ready["session"]
    )
    assert session.status == LiveStatus.ENDED and session.transcript.status == Status.DONE
    assert session.transcript.result.text.startswith("alpha bravo charlie")
    assert session.transcript.media.duration == pytest.approx(2.8, abs=0.01)


async def test_a_page_back_on_a_new_socket_takes_its_session_over_and_the_old_one_closes_4409(fake, cookie, settings):
    first_part, second_part = utterances(1), utterances(1)
    async with InProcessSocket(LIVE, cookie) as before:
        ready = await before.wait_for("ready")
        await before.stream(first_part)
        await before.wait_for("committed", text="alpha bravo charlie")
        async with InProcessSocket(f"{LIVE}&resume={ready['session']}&shown=1", cookie) as after:
            again = await after.wait_for("ready")
            assert again["session"] == ready["session"] and again["resumed"] is True
            await before.wait_for("error", code="taken_over")
            assert await before.wait_closed() == 4409
            await after.stream(second_part)
            await after.wait_for("committed", text="delta echo foxtrot")
            ended = await after.stop()
    assert [caption["index"] for caption in after.of_type("committed")] == [1]  # the page had shown 0
    await sync_to_async(saved_as_one)(ended, first_part, second_part)


async def test_a_viewer_socket_with_an_unknown_or_revoked_token_is_refused(fake, cookie):
    async with InProcessSocket("/ws/live/view/not-a-token/") as viewer:
        assert not viewer.accepted and viewer.close_code == 4404
    async with InProcessSocket(LIVE, cookie) as owner:
        ready = await owner.wait_for("ready")
        session = await LiveSession.objects.aget(uuid=ready["session"])
        new = await sync_to_async(services.create_link)(session)
        async with InProcessSocket(f"/ws/live/view/{new.token}/") as viewer:
            backlog = await viewer.wait_for("backlog")
        assert backlog == {"type": "backlog", "segments": [], "ended": False}
        await sync_to_async(new.link.revoke)()
        async with InProcessSocket(f"/ws/live/view/{new.token}/") as viewer:
            assert not viewer.accepted and viewer.close_code == 4404


async def test_a_live_link_made_mid_session_starts_the_viewers_captions(fake, cookie, settings):
    settings.LIVE_IDLE_TIMEOUT = 3  # a heartbeat every 0.5 s
    async with InProcessSocket(LIVE, cookie) as owner:
        ready = await owner.wait_for("ready")
        await owner.stream(utterances(1))
        await owner.wait_for("committed", text="alpha bravo charlie")
        session = await LiveSession.objects.aget(uuid=ready["session"])
        new = await sync_to_async(services.create_link)(session)
        async with InProcessSocket(f"/ws/live/view/{new.token}/") as viewer:
            backlog = await viewer.wait_for("backlog")
            assert backlog["segments"] == ["alpha bravo charlie"]
            await asyncio.sleep(1.0)  # two heartbeats: the owner learns of the link
            await owner.stream(utterances(1), realtime=4)
            await viewer.wait_for("committed", text="delta echo foxtrot")
            assert viewer.of_type("partial")
            await owner.stop()
            await viewer.wait_for("ended")
            assert await viewer.wait_closed() == 1000


async def test_one_heartbeat_keeps_every_session_alive_and_stops_the_idle_one(fake, cookie, settings):
    """The shared heartbeat (realtime/pulse.py): every session's liveness in
    one query; a session without audio for LIVE_IDLE_TIMEOUT is stopped and
    saved, the others keep going."""
    settings.LIVE_IDLE_TIMEOUT = 1.5  # a heartbeat every 0.5 s
    async with InProcessSocket(LIVE, cookie) as talking, InProcessSocket(LIVE, cookie) as quiet:
        talking_id = (await talking.wait_for("ready"))["session"]
        quiet_id = (await quiet.wait_for("ready"))["session"]
        started = await LiveSession.objects.aget(uuid=talking_id)
        await talking.stream(utterances(1), realtime=1.0)  # 2.2 s, past the idle timeout
        idle = await quiet.wait_for("error", code="idle")
        assert "saved" in idle["message"]
        assert (await quiet.wait_for("ended"))["transcript"]
        alive = await LiveSession.objects.aget(uuid=talking_id)
        assert alive.status == LiveStatus.ACTIVE and alive.heartbeat > started.heartbeat
        assert not talking.of_type("error")
        await talking.stop()
    assert (await LiveSession.objects.aget(uuid=quiet_id)).status == LiveStatus.ENDED
