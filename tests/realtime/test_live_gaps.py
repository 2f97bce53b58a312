"""No audio is left untranscribed: live sessions against the fake Scribe
with faults (a drop after 40 s of uncommitted speech, an upstream at half
real time, one that never commits, a drop while Stop waits, a server that
dies mid-session). The speech is synthetic (tests/fakes/speech.py) and both
fakes really transcribe it, so in each case the saved transcript is compared
word by word with a batch transcription of the same recording (WER at most
3 points), no upstream session may be left open, and the page must have
been told of the lag or the gap."""

from __future__ import annotations

import asyncio
import re
import wave
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from realtime import services
from realtime.models import LiveSegment, LiveSession, LiveStatus
from realtime.recording import RecordingWriter
from realtime.relay import Ending
from tests.fakes import speech
from tests.fakes.scribe import FakeScribe, Fault
from tests.realtime.live_support import IN_MEMORY_LAYER, InProcessSocket, session_cookie
from transcripts.models import Transcript

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

LIVE = "/ws/live/?engine=scribe&language=en"
MAX_WER = 3.0


@pytest.fixture(autouse=True)
def channel_layer(settings):
    settings.CHANNEL_LAYERS = IN_MEMORY_LAYER


@pytest.fixture
def fake(settings):
    with FakeScribe() as server:
        server.hear = speech.hear  # the realtime and the batch side both transcribe what they get
        settings.ELEVENLABS_API_KEY = server.api_key
        settings.ELEVENLABS_BASE_URL = server.base_url
        settings.SCRIBE_WEBHOOK_SECRETS = []
        yield server


@pytest.fixture
def cookie(user):
    return session_cookie(user)


def recorded(transcript: Transcript) -> bytes:
    assert transcript.media is not None
    with default_storage.open(str(transcript.media.file.name), "rb") as handle, wave.open(handle) as wav:
        return wav.readframes(wav.getnframes())


def spoken(transcript_id: int) -> tuple[list[str], list[str], list[dict]]:
    """(the transcript's words, a batch transcription of its recording, its filled words)."""
    transcript = Transcript.objects.select_related("media", "result").get(pk=transcript_id)
    words = [w for w in transcript.result.data["words"] if w["type"] == "word"]
    batch = speech.text(recorded(transcript)).split()
    return [w["text"] for w in words], batch, [w for w in words if w.get("filled")]


async def open_sessions_closed(fake) -> None:
    for _ in range(200):
        if fake.realtime.open_sessions == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{fake.realtime.open_sessions} upstream sessions left open")


async def fill(transcript_id: int) -> LiveSession:
    """What the Celery task does once the session is saved."""
    from realtime import gaps

    session = await LiveSession.objects.aget(transcript_id=transcript_id)
    await sync_to_async(gaps.fill_gaps)(session.pk)
    return await LiveSession.objects.aget(pk=session.pk)


async def test_a_drop_after_40_s_of_uncommitted_speech_loses_no_word(fake, cookie, settings):
    settings.LIVE_MAX_BUFFER_SECONDS = 60
    fake.faults.push("realtime", Fault("drop", delay=40))
    pcm = speech.say(speech.script(44, sentence_words=0))  # one long sentence: no VAD commit
    async with InProcessSocket(LIVE, cookie) as page:
        await page.wait_for("ready")
        await page.stream(pcm, realtime=8)
        ended = await page.stop()
    await open_sessions_closed(fake)
    assert len(fake.realtime.sessions) == 2
    assert page.of_type("status")[0]["state"] == "reconnecting"  # the page saw the drop
    said, batch, filled = await sync_to_async(spoken)(ended["transcript"])
    assert len(batch) > 90 and speech.wer(batch, said) <= MAX_WER
    assert not filled and not page.of_type("error")  # all of it came live, nothing to fill


async def test_an_upstream_that_never_commits_leaves_a_gap_that_the_batch_pass_fills(fake, user, cookie, settings):
    settings.LIVE_STOP_WAIT_SECONDS = 2
    fake.faults.push("realtime", Fault("never_commit"))
    pcm = speech.say(speech.script(12, sentence_words=5))
    async with InProcessSocket(LIVE, cookie) as page:
        await page.wait_for("ready")
        await page.stream(pcm, realtime=8)
        ended = await page.stop()
    await open_sessions_closed(fake)
    finishing = page.one_of("status", state="finishing")  # Stop waited, and said why
    assert finishing["message"].startswith("Waiting for the captions of the last ")
    incomplete = page.one_of("error", code="incomplete")
    assert "0:00 to 0:" in incomplete["message"] and not incomplete["fatal"]
    session = await LiveSession.objects.aget(transcript_id=ended["transcript"])
    assert session.incomplete and session.status == LiveStatus.ENDED
    assert session.gaps[0]["start"] == 0 and "no live captions" in session.error
    session = await fill(ended["transcript"])
    assert not session.incomplete and session.gaps[0]["filled"]
    said, batch, filled = await sync_to_async(spoken)(ended["transcript"])
    assert len(batch) > 15 and speech.wer(batch, said) <= MAX_WER
    assert len(filled) == len(said)  # every word came from the batch pass, and says so
    page_html = await sync_to_async(transcript_page)(user, ended["transcript"])
    assert "transcribed from the recording" in page_html and "0:00" in page_html


def transcript_page(user, transcript_id: int) -> str:
    client = Client()
    client.force_login(user)
    return client.get(f"/transcripts/{transcript_id}/").content.decode()


async def test_an_upstream_at_half_real_time_shows_its_lag_then_pauses_and_nothing_is_lost(fake, cookie, settings):
    settings.LIVE_LAG_NOTICE_SECONDS = 3
    settings.LIVE_MAX_BUFFER_SECONDS = 6
    settings.LIVE_STOP_WAIT_SECONDS = 3
    fake.faults.push("realtime", Fault("pace", delay=2.0))
    pcm = speech.say(speech.script(16, sentence_words=3))
    async with InProcessSocket(LIVE, cookie) as page:
        await page.wait_for("ready")
        await page.stream(pcm, realtime=1.0)
        ended = await page.stop()
    await open_sessions_closed(fake)
    behind = [m for m in page.of_type("status") if m["state"] == "behind"]
    assert behind and behind[0]["message"].startswith("Captions are ") and "s behind" in behind[0]["message"]
    paused = page.one_of("error", code="captions_paused")
    assert not paused["fatal"] and "recording goes on" in paused["message"]
    assert page.one_of("error", code="incomplete")
    session = await fill(ended["transcript"])
    said, batch, filled = await sync_to_async(spoken)(ended["transcript"])
    assert filled and len(filled) < len(said)  # the live text is kept, the rest filled
    assert speech.wer(batch, said) <= MAX_WER and not session.incomplete


async def test_after_a_pause_the_captions_come_back_on_a_fresh_upstream(fake, cookie, settings):
    """A hiccup does not stop the captions for the rest of the session: once
    the slow upstream has finished what it could, a new one goes on from the
    recording's end; the stretch between is filled from the recording."""
    settings.LIVE_LAG_NOTICE_SECONDS = 2
    settings.LIVE_MAX_BUFFER_SECONDS = 4
    settings.LIVE_STOP_WAIT_SECONDS = 2
    fake.faults.push("realtime", Fault("pace", delay=3.0))  # the first socket only
    pcm = speech.say(speech.script(16, sentence_words=3, seed=5))
    async with InProcessSocket(LIVE, cookie) as page:
        await page.wait_for("ready")
        await page.stream(pcm, realtime=1.0)
        ended = await page.stop()
    await open_sessions_closed(fake)
    assert len(fake.realtime.sessions) == 2
    kinds = [(m["type"], m.get("code") or m.get("state")) for m in page.messages if m["type"] in ("error", "status")]
    assert kinds.index(("error", "captions_paused")) < kinds.index(("status", "connected"))
    assert page.of_type("committed")[-1]["start"] > 10  # captions after the pause
    session = await fill(ended["transcript"])
    said, batch, filled = await sync_to_async(spoken)(ended["transcript"])
    assert filled and len(filled) < len(said) / 2 and not session.incomplete
    assert speech.wer(batch, said) <= MAX_WER


@pytest.mark.parametrize("stop_wait", [10, 1])
async def test_a_drop_while_stop_waits_reconnects_and_closes_every_upstream_session(fake, cookie, settings, stop_wait):
    """The final commit cuts the connection. Given time, Stop reconnects,
    replays, commits and closes; given too little, the socket being opened
    is closed as soon as it opens and the rest is filled in batch."""
    settings.LIVE_STOP_WAIT_SECONDS = stop_wait
    fake.faults.push("realtime", Fault("drop_on_commit"))
    if stop_wait == 1:
        fake.faults.push("token", Fault("slow", delay=0), Fault("slow", delay=2))  # the reconnect's token is slow
    pcm = speech.say(speech.script(6, sentence_words=0))[: 32000 * 5]  # speech to the very end
    async with InProcessSocket(LIVE, cookie) as page:
        await page.wait_for("ready")
        await page.stream(pcm, realtime=8)
        ended = await page.stop()
    await open_sessions_closed(fake)
    await asyncio.sleep(2.5)  # a socket opened after the stop would show up by now
    await open_sessions_closed(fake)
    said, batch, filled = await sync_to_async(spoken)(ended["transcript"])
    if stop_wait == 10:
        assert len(fake.realtime.sessions) == 2 and not filled
    else:
        assert page.one_of("error", code="incomplete")
        await fill(ended["transcript"])
        said, batch, filled = await sync_to_async(spoken)(ended["transcript"])
        assert filled
    assert speech.wer(batch, said) <= MAX_WER


def write_recording(session: LiveSession, pcm: bytes) -> None:
    writer = RecordingWriter(session.recording_name)
    writer.write(pcm)
    writer.close()


async def test_a_session_whose_server_died_is_recovered_with_its_gap_filled(fake, user, settings):
    pcm = speech.say(speech.script(14, sentence_words=5))
    session = await sync_to_async(services.start_session)(user, engine="scribe", language="en")
    await sync_to_async(write_recording)(session, pcm)
    # The live text reached the first sentence's end, then the server died.
    first = speech.hear(pcm)[:5]
    await sync_to_async(services.append_segment)(
        session.pk, 0, " ".join(w for w, _, _ in first), None, first[0][1], first[-1][2], first[-1][2] + 0.2
    )
    await LiveSession.objects.filter(pk=session.pk).aupdate(heartbeat=timezone.now() - timedelta(hours=1))
    assert await sync_to_async(services.recover_stale_sessions)() == 1
    session = await LiveSession.objects.aget(pk=session.pk)
    assert session.incomplete and session.gaps[0]["start"] == pytest.approx(first[-1][2] + 0.2)
    assert session.gaps[0]["end"] == pytest.approx(len(pcm) / 32000)
    session = await fill(session.transcript_id)
    said, batch, filled = await sync_to_async(spoken)(session.transcript_id)
    assert said[:5] == [w for w, _, _ in first] and not any(w.get("filled") for w in filled[:0])
    assert speech.wer(batch, said) <= MAX_WER and len(filled) == len(batch) - 5
    assert await LiveSegment.objects.filter(session=session).acount() == 1  # the live text is kept as it was


async def test_the_local_engine_too_slow_for_the_stream_pauses_and_its_gap_is_filled(user, settings, monkeypatch):
    """The local live engine on a machine too slow for it: its lag is shown,
    captions pause, and what it never heard is filled by the batch local
    engine from the recording. (The model is the stand-in: Whisper cannot
    read the synthetic speech; everything around it is the real engine.)"""
    from realtime.upstreams import make_upstream
    from tests.realtime.live_support import frames
    from tests.realtime.scripted import Harness
    from transcripts.engines import local as local_engine

    model = speech.HearingModel(delay=0.05)
    monkeypatch.setattr(local_engine, "load_model", lambda *args, **kwargs: model)
    settings.LIVE_LAG_NOTICE_SECONDS = 1.5
    settings.LIVE_MAX_BUFFER_SECONDS = 4
    settings.LIVE_STOP_WAIT_SECONDS = 5
    pcm = speech.say(speech.script(60, sentence_words=4, seed=3))
    harness = Harness(upstreams=make_upstream)
    await harness.start(user, engine="local", language="en")
    after_pause = 0
    for frame in frames(pcm):
        harness.relay.accept(frame)
        await asyncio.sleep(len(frame) / 32000 / 8)  # eight times real time: more than it can decode
        after_pause += len(frame) if harness.relay.paused else 0
        if after_pause >= 4 * 32000:  # (when it pauses depends on the machine's load)
            break
    assert harness.relay.paused
    harness.relay.end(Ending.STOP)
    await harness.ended()
    assert [m["code"] for m in harness.page.of_type("error")] == ["captions_paused", "incomplete"]
    # The lag was shown: on its way up (how fast it grows depends on the machine's load), and when it paused.
    paused = harness.page.of_type("error")[0]["message"]
    assert re.search(r"fell \d+ s behind", paused)
    transcript_id = harness.page.one("ended")["transcript"]
    session = await fill(transcript_id)
    said, batch, filled = await sync_to_async(spoken)(transcript_id)
    assert filled and len(filled) < len(said) and not session.incomplete
    assert speech.wer(batch, said) <= MAX_WER
