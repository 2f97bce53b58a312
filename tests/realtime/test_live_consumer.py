"""The live captions socket end to end: a Daphne process running the real
ASGI app, real WebSockets, and the fake Scribe realtime server as the
upstream. Only what needs the real server is here (Daphne's inbound queue
and close codes on the wire, its disconnect handling, a second process,
the process's log); the rest of the socket's promises are tested
in-process (test_live_socket.py, test_relay.py)."""

from __future__ import annotations

import asyncio
import contextlib
import wave
from datetime import timedelta

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.core.files.storage import default_storage
from django.utils import timezone

from realtime.models import LiveSession, LiveStatus
from tests.fakes.scribe import FakeScribe, Fault
from tests.realtime.live_support import LiveClient, frames, marked, saved_as_one, session_cookie, tone, utterances
from transcripts.models import Status, Transcript

pytestmark = [pytest.mark.slow, pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


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


def saved(transcript_id: int) -> Transcript:
    return Transcript.objects.select_related("media", "result").get(pk=transcript_id)


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
    assert query["commit_strategy"] == "manual" and query["include_timestamps"] == "true"
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


async def test_a_page_back_before_the_server_saw_the_drop_takes_its_session_over_from_another_process(
    site, fake, cookie
):
    """The page's connection died without the server noticing (no FIN, as
    when a laptop changes networks) and the page resumes on a new one: the
    old connection hands the session over (at once in the same Daphne
    process, at its next heartbeat in another) instead of the resume being
    refused and a second session started. Without the hand-over the old
    connection, still open, would hold the session past RESUME_WAIT_SECONDS.
    (The same within one process: test_live_socket.py.)"""
    holding = await sync_to_async(site)(LIVE_IDLE_TIMEOUT=4)  # a heartbeat every 0.5 s
    resuming = await sync_to_async(site)()
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


async def test_a_session_whose_web_process_died_resumes_on_another_as_one_transcript(site, cookie):
    """The web process is killed mid-talk, so nobody hands the session over;
    the page comes back at once, through the proxy, to a web process that is
    up (another one, or the same restarted quickly), which waits until the
    old connection is taken to be gone (three silent heartbeats) and gives
    the page its session back: one session, one transcript of the whole talk.
    (With the page's resume given up after 10 s, the talk was split in two.)"""
    first = await sync_to_async(site)()
    other = await sync_to_async(site)()
    async with LiveClient(first.base_url, cookie, query="engine=scribe") as before:
        ready = await before.wait_for("ready")
        await before.stream(utterances(1), realtime=2)
        await before.wait_for("committed", text="alpha bravo charlie")
        first.processes[0].kill()  # Daphne, SIGKILL: no disconnect, no hand-over
        await before.wait_closed()
    resume = f"engine=scribe&resume={ready['session']}&shown=1"
    async with LiveClient(other.base_url, cookie, query=resume) as after:
        again = await after.wait_for("ready", timeout=30)
        assert again["session"] == ready["session"] and again["resumed"] is True
        await after.stream(utterances(1), realtime=2)
        await after.wait_for("committed", text="delta echo foxtrot")
        ended = await after.stop()
    assert not after.of_type("error")
    assert await LiveSession.objects.acount() == 1 and await Transcript.objects.acount() == 1
    transcript = await sync_to_async(saved)(ended["transcript"])
    assert transcript.result.text == "alpha bravo charlie delta echo foxtrot"


async def test_revoking_a_live_link_in_one_web_process_closes_its_viewer_in_another(site, cookie, user):
    """Through the channel layer (Redis) from the process that revoked to
    the one holding the viewer's socket."""
    from realtime import services
    from tests.web import signed_in

    owners, viewers = await sync_to_async(site)(), await sync_to_async(site)()
    session = await sync_to_async(services.start_session)(user, engine="scribe")
    revoked, kept = [await sync_to_async(services.create_link)(session) for _ in range(2)]
    async with (
        LiveClient(viewers.base_url, None, path=f"/ws/live/view/{revoked.token}/") as gone,
        LiveClient(viewers.base_url, None, path=f"/ws/live/view/{kept.token}/") as watching,
    ):
        await gone.wait_for("backlog")
        await watching.wait_for("backlog")

        def revoke() -> int:
            with signed_in(owners.base_url, cookie) as http:
                return http.post(f"/live/links/{revoked.link.pk}/revoke/").status_code

        assert await sync_to_async(revoke)() == 200
        assert await gone.wait_closed(timeout=10) == 4404
        assert watching.reader is not None and not watching.reader.done()
    for running in (owners, viewers):  # stopped, so their access logs are flushed
        for process in running.processes:
            await sync_to_async(process.stop)()
    logs = owners.logs() + viewers.logs()
    assert "WSCONNECTING /ws/live/view/sha256:" in logs  # the access log names the link by its hash prefix
    assert revoked.token not in logs and kept.token not in logs


async def test_a_server_that_dies_mid_session_is_recovered_and_its_gap_filled_by_the_worker(
    make_site, fake, cookie, user
):
    """Daphne is killed while a session streams (so its upstream dies with
    it, unflushed audio and all). Recovery saves the session with everything
    after the last text as a gap, and a real Celery worker fills it from the
    recording: the transcript then reads as a batch transcription of the
    same recording, and its page says which part was filled."""
    from django.test import Client

    from realtime import services
    from tests.fakes import speech

    fake.hear = speech.hear
    running = await sync_to_async(make_site)(
        worker=True, ELEVENLABS_API_KEY=fake.api_key, ELEVENLABS_BASE_URL=fake.base_url
    )
    pcm = speech.say(speech.script(20, sentence_words=5, seed=7))
    async with LiveClient(running.base_url, cookie, query="engine=scribe&language=en") as client:
        await client.wait_for("ready")
        for frame in frames(pcm):
            await client.ws.send(frame)
            await asyncio.sleep(len(frame) / 32000 / 4)
            if client.of_type("committed"):
                fake.realtime.commit_delay = 10  # from the first text on, Scribe is stuck until after the kill
        await asyncio.sleep(3)
        running.processes[0].kill()  # Daphne dies mid-session
        await client.wait_closed()
    for _ in range(250):  # its upstream socket died with it (the fake sees it once it reads again)
        if fake.realtime.open_sessions == 0:
            break
        await asyncio.sleep(0.1)
    assert fake.realtime.open_sessions == 0
    await LiveSession.objects.aupdate(heartbeat=timezone.now() - timedelta(hours=1))
    assert await sync_to_async(services.recover_stale_sessions)() == 1
    session = await LiveSession.objects.aget()
    assert session.gaps and session.status == LiveStatus.ENDED
    for _ in range(300):  # the worker fills the gap
        session = await LiveSession.objects.aget()
        if not session.incomplete:
            break
        await asyncio.sleep(0.1)
    assert not session.incomplete, running.logs()
    transcript = await sync_to_async(saved)(session.transcript_id)
    with default_storage.open(transcript.media.file.name, "rb") as handle, wave.open(handle) as wav:
        batch = speech.text(wav.readframes(wav.getnframes())).split()
    words = [w for w in transcript.result.data["words"] if w["type"] == "word"]
    assert any(w.get("filled") for w in words) and any(not w.get("filled") for w in words)
    assert speech.wer(batch, [w["text"] for w in words]) <= 3.0

    def page() -> str:
        client = Client()
        client.force_login(user)
        return client.get(f"/transcripts/{transcript.pk}/").content.decode()

    html = await sync_to_async(page)()
    assert "transcribed from the recording afterwards" in html and 'class="filled"' in html
