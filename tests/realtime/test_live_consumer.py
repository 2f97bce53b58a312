"""The live captions consumer over real WebSockets: a Daphne process running
the real ASGI app, and the fake Scribe realtime server as the upstream."""

from __future__ import annotations

import asyncio
import contextlib
import wave

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.core.files.storage import default_storage

from realtime import services
from realtime.models import LiveSession, LiveStatus
from realtime.upstreams import MESSAGES
from tests.fakes.scribe import FakeScribe, Fault
from tests.realtime.live_support import LiveClient, frames, marked, session_cookie, silence, threaded, tone
from transcripts.models import Status, Transcript

pytestmark = pytest.mark.django_db(transaction=True)


# Speech-like bursts for the fake's VAD (1 s threshold): 1 s of tone then 1.2 s of silence.
def utterances(count: int) -> bytes:
    return b"".join(tone(1.0) + silence(1.2) for _ in range(count))


@pytest.fixture
def fake():
    with FakeScribe() as server:
        server.realtime.script = ["alpha bravo charlie", "delta echo foxtrot", "golf hotel india", "juliet kilo lima"]
        yield server


@pytest.fixture
def site(make_site, fake):
    started = []

    def start(**env):
        running = make_site(
            worker=False,
            ELEVENLABS_API_KEY=fake.api_key,
            ELEVENLABS_BASE_URL=fake.base_url,
            **{key: str(value) for key, value in env.items()},
        )
        started.append(running)
        return running

    yield start
    for running in started:  # shown by pytest when the test failed
        print(running.logs())


@pytest.fixture
def cookie(user):
    return session_cookie(user)


def upstream_calls(fake) -> int:
    return len(fake.requests_to("/v1/single-use-token")) + len(fake.realtime.sessions)


def saved(transcript_id: int) -> Transcript:
    return Transcript.objects.select_related("media", "result").get(pk=transcript_id)


@threaded
async def test_anonymous_socket_is_refused_before_any_upstream_call(site, fake):
    running = await sync_to_async(site)()
    with pytest.raises(websockets.InvalidStatus):
        async with LiveClient(running.base_url, None, query="engine=scribe"):
            pass
    assert upstream_calls(fake) == 0
    assert await LiveSession.objects.acount() == 0


@threaded
async def test_cross_origin_socket_is_refused_before_any_upstream_call(site, fake, cookie):
    running = await sync_to_async(site)()
    with pytest.raises(websockets.InvalidStatus):
        async with LiveClient(running.base_url, cookie, query="engine=scribe", origin="http://evil.example"):
            pass
    assert upstream_calls(fake) == 0


@threaded
async def test_scribe_session_relays_audio_in_order_and_captions_back_then_saves(site, fake, cookie):
    running = await sync_to_async(site)()
    audio = utterances(2)
    sent = [marked(frame, i) for i, frame in enumerate(frames(audio))]
    async with LiveClient(running.base_url, cookie, query="engine=scribe&language=en") as client:
        ready = await client.wait_for("ready")
        for frame in sent:
            await client.ws.send(frame)
        await client.wait_for("committed", text="delta echo foxtrot")
        ended = await client.stop()
    assert client.of_type("partial"), "partial captions were relayed"
    assert [m["text"] for m in client.of_type("committed")] == ["alpha bravo charlie", "delta echo foxtrot"]
    upstream = fake.realtime.sessions[0]
    assert upstream.auth == "token" and bytes(upstream.audio) == b"".join(sent)
    query = dict(upstream.query)
    assert query["model_id"] == "scribe_v2_realtime" and query["audio_format"] == "pcm_16000"
    assert query["commit_strategy"] == "vad" and query["include_timestamps"] == "true"
    assert query["language_code"] == "en"

    transcript = await sync_to_async(saved)(ended["transcript"])
    assert transcript.status == Status.DONE and transcript.engine == "scribe"
    assert transcript.result.text == "alpha bravo charlie delta echo foxtrot"
    words = [w for w in transcript.result.data["words"] if w["type"] == "word"]
    assert words[0]["start"] >= 0 and words[-1]["end"] <= len(audio) / 32000 + 0.01
    assert words[3]["start"] >= 1.0  # the second utterance starts after the first
    with default_storage.open(transcript.media.file.name, "rb") as handle, wave.open(handle) as wav:
        assert wav.getframerate() == 16000 and wav.getnchannels() == 1
        assert wav.readframes(wav.getnframes()) == b"".join(sent)
    session = await LiveSession.objects.aget(uuid=ready["session"])
    assert session.status == LiveStatus.ENDED


@threaded
async def test_upstream_drop_reconnects_with_a_new_token_and_keeps_committed_text(site, fake, cookie):
    running = await sync_to_async(site)()
    fake.faults.push("realtime", Fault("drop", delay=2.5))
    async with LiveClient(running.base_url, cookie, query="engine=scribe") as client:
        await client.wait_for("ready")
        await client.stream(utterances(3), realtime=4)
        await client.wait_for("status", state="connected")
        await client.wait_for("committed", text="golf hotel india")
        ended = await client.stop()
    assert await client.wait_for("status", state="reconnecting")
    tokens = fake.requests_to("/v1/single-use-token/realtime_scribe", "POST")
    assert len(tokens) == 2 and len(fake.realtime.sessions) == 2
    assert [s.auth for s in fake.realtime.sessions] == ["token", "token"]
    # The new socket hears the audio after the break with what came before it as context.
    assert [s.previous_text for s in fake.realtime.sessions] == [None, "alpha bravo charlie"]
    texts = [m["text"] for m in client.of_type("committed")]
    assert texts[0] == "alpha bravo charlie" and texts[-1] == "golf hotel india"
    transcript = await sync_to_async(saved)(ended["transcript"])
    assert transcript.result.text.startswith("alpha bravo charlie")
    assert transcript.result.text.endswith("golf hotel india")


@threaded
async def test_browser_disconnect_saves_the_session_with_what_was_committed(site, fake, cookie):
    running = await sync_to_async(site)()
    async with LiveClient(running.base_url, cookie, query="engine=scribe") as client:
        ready = await client.wait_for("ready")
        await client.stream(utterances(1) + tone(0.6))
        await client.wait_for("committed")
    # no stop: the socket just closed

    def ended():
        session = LiveSession.objects.select_related("transcript__result").get(uuid=ready["session"])
        return session if session.status == LiveStatus.ENDED else None

    session = await sync_to_async(_wait)(ended)
    assert session.transcript.status == Status.DONE
    assert session.transcript.result.text.startswith("alpha bravo charlie")
    assert session.transcript.media.duration == pytest.approx(2.8, abs=0.01)


@threaded
async def test_audio_sent_just_before_a_disconnect_still_reaches_the_upstream(site, fake, cookie):
    running = await sync_to_async(site)()
    sent = [marked(frame, i) for i, frame in enumerate(frames(utterances(1)))]
    async with LiveClient(running.base_url, cookie, query="engine=scribe") as client:
        ready = await client.wait_for("ready")
        for frame in sent:
            await client.ws.send(frame)
    # closed at once, no stop: what the consumer had accepted is still relayed

    def ended():
        session = LiveSession.objects.select_related("transcript__media").get(uuid=ready["session"])
        return session if session.status == LiveStatus.ENDED else None

    session = await sync_to_async(_wait)(ended)
    assert bytes(fake.realtime.sessions[0].audio) == b"".join(sent)
    with default_storage.open(session.transcript.media.file.name, "rb") as handle, wave.open(handle) as wav:
        assert wav.readframes(wav.getnframes()) == b"".join(sent)


def _wait(condition, timeout: float = 20):
    from tests.support import wait_until

    return wait_until(condition, timeout)


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
@threaded
async def test_each_upstream_error_becomes_a_clear_message(site, fake, cookie, code):
    running = await sync_to_async(site)()
    fake.faults.push(
        "realtime",
        Fault(
            "error",
            body={"message_type": code, "error": f"upstream says {code}"},
            delay=0.5,
            status=1000 if code != "input_error" else 1008,
        ),
    )
    async with LiveClient(running.base_url, cookie, query="engine=scribe") as client:
        await client.wait_for("ready")
        await client.stream(tone(1.0))
        error = await client.wait_for("error", code=code)
    assert error["message"] == MESSAGES[code]
    assert "upstream says" not in str(client.messages)


@threaded
async def test_a_third_concurrent_session_is_refused(site, fake, cookie):
    running = await sync_to_async(site)()
    async with (
        LiveClient(running.base_url, cookie, query="engine=scribe") as first,
        LiveClient(running.base_url, cookie, query="engine=scribe") as second,
    ):
        await first.wait_for("ready")
        await second.wait_for("ready")
        async with LiveClient(running.base_url, cookie, query="engine=scribe") as third:
            error = await third.wait_for("error", code="session_limit")
            assert await third.wait_closed() == 4429
    assert "limit is 2" in error["message"]
    assert len(fake.realtime.sessions) == 2


@threaded
async def test_slow_upstream_closes_with_1013_instead_of_buffering_without_bound(site, fake, cookie):
    running = await sync_to_async(site)(LIVE_MAX_BUFFER_SECONDS=1)
    fake.faults.push("realtime", Fault("slow", delay=60))
    async with LiveClient(running.base_url, cookie, query="engine=scribe") as client:
        ready = await client.wait_for("ready")
        burst = tone(10.0)
        with contextlib.suppress(websockets.ConnectionClosed):
            # Loopback TCP absorbs tens of MB before it pushes back; send until closed.
            for _ in range(400):
                await client.stream(burst)
                if client.reader.done():
                    break
        error = await client.wait_for("error", code="buffer_full", timeout=60)
        assert await client.wait_closed() == 1013
    assert "not keeping up" in error["message"]
    session = await LiveSession.objects.aget(uuid=ready["session"])
    assert session.status == LiveStatus.ENDED


@threaded
async def test_oversized_and_malformed_frames_are_rejected(site, fake, cookie):
    running = await sync_to_async(site)()
    async with LiveClient(running.base_url, cookie, query="engine=scribe") as client:
        await client.wait_for("ready")
        await client.ws.send(b"\0" * (64 * 1024 + 2))
        await client.wait_for("error", code="frame_too_large")
        assert await client.wait_closed() == 1009
    async with LiveClient(running.base_url, cookie, query="engine=scribe") as client:
        await client.wait_for("ready")
        await client.ws.send(b"\0" * 101)
        await client.wait_for("error", code="malformed_frame")
        assert await client.wait_closed() == 1003
    async with LiveClient(running.base_url, cookie, query="engine=scribe") as client:
        await client.wait_for("ready")
        await client.ws.send("{not json")
        await client.wait_for("error", code="malformed_frame")


@threaded
async def test_api_key_never_reaches_the_browser_or_the_logs(site, fake, cookie, user):
    import httpx

    running = await sync_to_async(site)()
    fake.faults.push("realtime", Fault("drop", delay=1.5))
    async with LiveClient(running.base_url, cookie, query="engine=scribe") as client:
        await client.wait_for("ready")
        await client.stream(utterances(2), realtime=4)
        ended = await client.stop()
    bodies = []
    async with httpx.AsyncClient(base_url=running.base_url, cookies={"sessionid": cookie}) as http:
        for path in ("/live/", "/transcripts/", ended["url"], "/static/js/live.js", "/static/js/live-worklet.js", "/"):
            response = await http.get(path)
            assert response.status_code == 200, path
            bodies.append(response.text)
    await asyncio.sleep(0.5)
    assert fake.api_key not in "\n".join(bodies)
    assert fake.api_key not in str(client.messages)
    log = running.logs()
    assert "Scribe realtime reconnected" in log  # the log was captured
    assert fake.api_key not in log


@threaded
async def test_viewer_socket_with_an_unknown_or_revoked_token_is_refused(site, fake, cookie):
    from realtime import services

    running = await sync_to_async(site)()
    with pytest.raises(websockets.InvalidStatus):
        async with LiveClient(running.base_url, None, path="/ws/live/view/not-a-token/"):
            pass
    async with LiveClient(running.base_url, cookie, query="engine=scribe") as owner:
        ready = await owner.wait_for("ready")
        session = await LiveSession.objects.aget(uuid=ready["session"])
        new = await sync_to_async(services.create_link)(session)
        async with LiveClient(running.base_url, None, path=f"/ws/live/view/{new.token}/") as viewer:
            backlog = await viewer.wait_for("backlog")
        assert backlog == {"type": "backlog", "segments": [], "ended": False}
        await sync_to_async(new.link.revoke)()
        with pytest.raises(websockets.InvalidStatus):
            async with LiveClient(running.base_url, None, path=f"/ws/live/view/{new.token}/"):
                pass


@threaded
async def test_one_heartbeat_keeps_every_session_alive_and_stops_the_idle_one(site, fake, cookie):
    """The shared heartbeat (realtime/pulse.py): every session's liveness in
    one query; a session without audio for LIVE_IDLE_TIMEOUT is stopped and
    saved, the others keep going."""
    running = await sync_to_async(site)(LIVE_IDLE_TIMEOUT=2)  # heartbeat every 0.5 s
    async with (
        LiveClient(running.base_url, cookie, query="engine=scribe") as talking,
        LiveClient(running.base_url, cookie, query="engine=scribe") as quiet,
    ):
        talking_id = (await talking.wait_for("ready"))["session"]
        quiet_id = (await quiet.wait_for("ready"))["session"]
        started = await LiveSession.objects.aget(uuid=talking_id)
        await talking.stream(utterances(2), realtime=1.0)  # 4.4 s, past the idle timeout
        idle = await quiet.wait_for("error", code="idle")
        assert "saved" in idle["message"]
        assert (await quiet.wait_for("ended"))["transcript"]
        alive = await LiveSession.objects.aget(uuid=talking_id)
        assert alive.status == LiveStatus.ACTIVE and alive.heartbeat > started.heartbeat
        assert not talking.of_type("error")
        await talking.stop()
    assert (await LiveSession.objects.aget(uuid=quiet_id)).status == LiveStatus.ENDED


@threaded
async def test_a_live_link_made_mid_session_starts_the_viewers_captions(site, fake, cookie):
    from realtime import services

    running = await sync_to_async(site)(LIVE_IDLE_TIMEOUT=3)  # heartbeat every 0.5 s
    async with LiveClient(running.base_url, cookie, query="engine=scribe") as owner:
        ready = await owner.wait_for("ready")
        await owner.stream(utterances(1), realtime=2)
        await owner.wait_for("committed", text="alpha bravo charlie")
        session = await LiveSession.objects.aget(uuid=ready["session"])
        new = await sync_to_async(services.create_link)(session)
        async with LiveClient(running.base_url, None, path=f"/ws/live/view/{new.token}/") as viewer:
            backlog = await viewer.wait_for("backlog")
            assert backlog["segments"] == ["alpha bravo charlie"]
            await asyncio.sleep(1.0)  # two heartbeats: the owner learns of the link
            await owner.stream(utterances(1), realtime=2)
            await viewer.wait_for("committed", text="delta echo foxtrot")
            assert viewer.of_type("partial")
            await owner.stop()
            await viewer.wait_for("ended")


@threaded
async def test_a_dropped_connection_resumes_the_same_session(site, fake, cookie):
    """The network drops (no close frame): the session waits; the page
    reconnects with ?resume= and goes on. One transcript, one recording, word
    times continuing from where the first connection's audio ended. The page
    comes back at once, while the server is still finishing with the old
    connection's upstream (its last commit is answered late): the resume
    waits for it. The page says it has shown no captions (as if the first
    one was lost with the connection): it is sent again."""
    running = await sync_to_async(site)()
    first_part, second_part = utterances(1), utterances(1)
    async with LiveClient(running.base_url, cookie, query="engine=scribe") as before:
        ready = await before.wait_for("ready")
        await before.stream(first_part, realtime=2)
        await before.wait_for("committed", text="alpha bravo charlie")
        fake.realtime.commit_delay = 1.5
        before.ws.transport.abort()
    resume = f"engine=scribe&resume={ready['session']}&shown=0"
    async with LiveClient(running.base_url, cookie, query=resume) as after:
        again = await after.wait_for("ready")
        assert again["session"] == ready["session"] and again["resumed"] is True
        fake.realtime.commit_delay = 0
        missed = await after.wait_for("committed", text="alpha bravo charlie")
        assert missed["index"] == 0
        await after.stream(second_part, realtime=2)
        await after.wait_for("committed", text="delta echo foxtrot")
        ended = await after.stop()
    assert fake.realtime.sessions[-1].previous_text == "alpha bravo charlie"
    await sync_to_async(saved_as_one)(ended, first_part, second_part)


def saved_as_one(ended: dict, first_part: bytes, second_part: bytes) -> None:
    """One session, one transcript of both parts, one recording of both."""
    assert LiveSession.objects.count() == 1
    transcript = saved(ended["transcript"])
    assert transcript.result.text == "alpha bravo charlie delta echo foxtrot"
    words = [w for w in transcript.result.data["words"] if w["type"] == "word"]
    assert words[3]["start"] >= len(first_part) / 32000  # the second part's time goes on from the first's end
    with default_storage.open(transcript.media.file.name, "rb") as handle, wave.open(handle) as wav:
        assert wav.readframes(wav.getnframes()) == first_part + second_part


@pytest.mark.parametrize("processes", [1, 2], ids=["same-process", "other-process"])
@threaded
async def test_a_page_back_before_the_server_saw_the_drop_takes_its_session_over(site, fake, cookie, processes):
    """The page's connection died without the server noticing (no FIN, as
    when a laptop changes networks) and the page resumes on a new one: the
    old connection hands the session over (at once in the same Daphne
    process, at its next heartbeat in another) instead of the resume being
    refused and a second session started. Without the hand-over the old
    connection, still open, would hold the session past LIVE_RESUME_WAIT_SECONDS."""
    if processes == 1:
        holding = resuming = await sync_to_async(site)(LIVE_RESUME_WAIT_SECONDS=3)  # a heartbeat every 5 s
    else:
        holding = await sync_to_async(site)(LIVE_IDLE_TIMEOUT=4)  # a heartbeat every 0.5 s
        resuming = await sync_to_async(site)(LIVE_RESUME_WAIT_SECONDS=3)
    first_part, second_part = utterances(1), utterances(1)
    async with LiveClient(holding.base_url, cookie, query="engine=scribe") as before:
        ready = await before.wait_for("ready")
        await before.stream(first_part, realtime=2)
        await before.wait_for("committed", text="alpha bravo charlie")
        resume = f"engine=scribe&resume={ready['session']}&shown=1"  # `before` stays open, silent
        async with LiveClient(resuming.base_url, cookie, query=resume) as after:
            again = await after.wait_for("ready")
            assert again["session"] == ready["session"] and again["resumed"] is True
            await before.wait_for("error", code="taken_over")
            assert await before.wait_closed() == 4409
            await after.stream(second_part, realtime=2)
            await after.wait_for("committed", text="delta echo foxtrot")
            ended = await after.stop()
    assert [caption["index"] for caption in after.of_type("committed")] == [1]  # the page had shown 0
    await sync_to_async(saved_as_one)(ended, first_part, second_part)


@threaded
async def test_only_the_owner_resumes_and_only_a_session_handed_over_in_time(site, fake, user, cookie, other_user):
    running = await sync_to_async(site)(LIVE_RESUME_WAIT_SECONDS=1)
    # Held by a server process that beat a moment ago, then died: nobody hands
    # it over, and it is not stale yet.
    orphan = await sync_to_async(services.start_session)(user, engine="scribe")
    async with LiveClient(running.base_url, cookie, query="engine=scribe") as owner:
        ready = await owner.wait_for("ready")
        for who, session in (
            (cookie, str(orphan.uuid)),
            (cookie, "00000000-0000-0000-0000-000000000000"),
            (cookie, "not-a-uuid"),
            (await sync_to_async(session_cookie)(other_user), ready["session"]),
        ):
            async with LiveClient(running.base_url, who, query=f"engine=scribe&resume={session}") as intruder:
                refused = await intruder.wait_for("error", code="not_resumable")
                assert await intruder.wait_closed() == 4429
            assert refused["message"]
        assert not owner.of_type("error")
        await owner.stop()
    assert await LiveSession.objects.filter(status=LiveStatus.ENDED).acount() == 1
