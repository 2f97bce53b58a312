"""The live relay in-process: a scripted upstream, the page and the viewers
as lists of messages, the real store on the test database, and a clock the
test moves. Every way a session ends, and what each leaves behind."""

from __future__ import annotations

import asyncio
import wave

import pytest
from asgiref.sync import sync_to_async
from django.core.files.storage import default_storage

from realtime import services
from realtime.models import LiveSession, LiveStatus
from realtime.relay import PLANS, Ending, RelayState
from realtime.services import LiveRefused
from realtime.upstreams import MESSAGES, Committed, Failure, Lag, Partial, Status, UpstreamError
from tests.realtime.live_support import frames, marked, tone
from tests.realtime.scripted import Harness
from transcripts.models import Status as JobStatus
from transcripts.models import Transcript

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

SECOND = tone(1.0)


def recorded(transcript_id: int) -> bytes:
    transcript = Transcript.objects.select_related("media").get(pk=transcript_id)
    with default_storage.open(transcript.media.file.name, "rb") as handle, wave.open(handle) as wav:
        assert wav.getframerate() == 16000 and wav.getnchannels() == 1
        return wav.readframes(wav.getnframes())


async def transcript_text(transcript_id: int) -> str:
    transcript = await Transcript.objects.select_related("result").aget(pk=transcript_id)
    assert transcript.status == JobStatus.DONE
    return transcript.result.text


async def row(relay) -> LiveSession:
    return await LiveSession.objects.aget(pk=relay.session_id)


async def streaming(user, audio: bytes = SECOND, **options) -> Harness:
    harness = Harness()
    await harness.start(user, **options)
    for frame in frames(audio):
        harness.relay.accept(frame)
    await harness.flushed()
    return harness


async def test_audio_goes_upstream_in_order_and_captions_come_back_numbered_then_all_is_saved(user):
    harness = Harness()
    await harness.start(user, language="en")
    ready = harness.page.one("ready")
    assert (ready["engine"], ready["language"], ready["resumed"]) == ("local", "en", False)
    sent = [marked(frame, i) for i, frame in enumerate(frames(SECOND + SECOND))]
    for frame in sent:
        harness.relay.accept(frame)
    await harness.flushed()
    assert bytes(harness.upstream.audio) == b"".join(sent)
    await harness.upstream.say(Partial("alpha"), Status("reconnecting", "one moment"))
    await harness.commit(" alpha bravo charlie ", 0.0, 1.0)
    await harness.commit("   ")  # nothing said: no segment
    await harness.commit("delta echo foxtrot", 1.2, 2.0)
    harness.relay.end(Ending.STOP)
    await harness.ended()

    page = harness.page
    assert page.kinds == ["ready", "partial", "status", "committed", "committed", "ended"]
    assert page.of_type("committed")[0] == {
        "type": "committed",
        "index": 0,
        "text": "alpha bravo charlie",
        "start": 0.0,
        "end": 1.0,
    }
    assert page.of_type("committed")[1]["index"] == 1
    assert page.closed is Ending.STOP and harness.upstream.finished
    transcript_id = page.one("ended")["transcript"]
    assert page.one("ended")["url"] == f"/transcripts/{transcript_id}/"
    assert await transcript_text(transcript_id) == "alpha bravo charlie delta echo foxtrot"
    assert await sync_to_async(recorded)(transcript_id) == b"".join(sent)
    assert (await row(harness.relay)).status == LiveStatus.ENDED
    assert harness.relay.state is RelayState.ENDED
    assert harness.viewers.messages == [{"type": "ended"}]  # nobody held a link: no captions sent to the group


async def test_on_stop_the_last_audio_and_the_last_commit_make_it_into_the_transcript(user):
    harness = await streaming(user)
    harness.upstreams.flowing.clear()  # the upstream is slow for a moment
    late = tone(0.4)
    for frame in frames(late):
        harness.relay.accept(frame)
    harness.upstreams.on_finish.append(Failure("commit_throttled", "slow down", fatal=False))
    harness.upstreams.on_finish.append(Committed(text="the last words", start=1.0, end=1.4))
    harness.relay.end(Ending.STOP)
    asyncio.get_running_loop().call_later(0.2, harness.upstreams.flowing.set)
    await harness.ended()
    assert bytes(harness.upstream.audio) == SECOND + late
    assert harness.page.kinds[-3:] == ["error", "committed", "ended"]
    assert await transcript_text(harness.page.one("ended")["transcript"]) == "the last words"


async def test_a_slow_upstream_ends_the_session_when_the_buffer_is_full(user, settings):
    settings.LIVE_MAX_BUFFER_SECONDS = 1
    harness = Harness()
    await harness.start(user)
    harness.upstreams.flowing.clear()
    audio = frames(tone(2.0))
    for frame in audio:
        harness.relay.accept(frame)
    await harness.ended()
    error, incomplete = harness.page.of_type("error")
    assert error["code"] == "buffer_full" and "not keeping up" in error["message"]
    # The audio it never sent has no text: the page is told, and the batch pass fills it.
    assert incomplete["code"] == "incomplete" and not incomplete["fatal"]
    assert harness.page.closed is Ending.BUFFER_FULL
    assert harness.upstream.closed and not harness.upstream.finished
    session = await row(harness.relay)
    assert session.status == LiveStatus.ENDED and "not keeping up" in session.error
    # Five frames (1 s) fitted; the sixth did not and is not in the recording either.
    transcript = await Transcript.objects.aget(pk=session.transcript_id)
    assert await sync_to_async(recorded)(transcript.pk) == b"".join(audio[:5])
    assert "ended" not in harness.page.kinds


async def test_a_resumed_session_carries_on_numbering_context_time_and_recording(user):
    before = await streaming(user)
    await before.commit("one", 0.0, 0.4)
    await before.commit("two", 0.5, 0.9)
    await before.relay.disconnected(1006, page_left=False)
    session = await row(before.relay)
    assert session.status == LiveStatus.ACTIVE and not session.attached
    link = await sync_to_async(services.create_link)(session)

    after = Harness()
    await after.start(user, resume=str(session.uuid), shown=1)
    ready = after.page.one("ready")
    assert ready["session"] == str(session.uuid) and ready["resumed"] is True
    assert after.page.of_type("committed") == [
        {"type": "committed", "index": 1, "text": "two", "start": 0.5, "end": 0.9}
    ]
    assert after.upstream.previous_text == "one two" and after.upstream.position == 1.0
    # The recording so far (1 s, under the 4 s asked for) is the upstream's context.
    assert len(after.upstream.resume_audio) == 32000
    assert after.relay.watched  # the link made while it was away
    for frame in frames(SECOND):
        after.relay.accept(frame)
    await after.flushed()
    await after.commit("three", 1.1, 1.5)
    assert after.page.of_type("committed")[-1]["index"] == 2
    assert after.viewers.messages[-1]["text"] == "three"
    after.relay.end(Ending.STOP)
    await after.ended()
    transcript_id = after.page.one("ended")["transcript"]
    assert await transcript_text(transcript_id) == "one two three"
    assert await sync_to_async(recorded)(transcript_id) == SECOND + SECOND
    assert await LiveSession.objects.acount() == 1 and link.token


async def test_a_page_back_on_a_new_connection_takes_the_session_over_in_this_process(user, settings):
    holding = await streaming(user)
    await holding.commit("kept", 0.0, 0.5)
    session = await row(holding.relay)
    resuming = Harness()
    await resuming.start(user, resume=str(session.uuid), shown=1)
    await holding.ended()
    assert holding.page.of_type("error")[-1]["code"] == "taken_over"
    assert holding.page.closed is Ending.HANDED_OVER and holding.upstream.finished
    assert resuming.page.one("ready")["resumed"] and not resuming.page.of_type("committed")
    assert resuming.upstream.previous_text == "kept"
    session = await row(resuming.relay)
    assert session.attached and not session.release_requested and session.status == LiveStatus.ACTIVE


async def test_only_the_owner_resumes_a_live_session(user, other_user):
    owners = await streaming(user)
    owned = str((await row(owners.relay)).uuid)
    for who, session in (
        (user, "00000000-0000-0000-0000-000000000000"),
        (user, "not-a-uuid"),
        (other_user, owned),
    ):
        intruder = Harness()
        with pytest.raises(LiveRefused) as refused:
            await intruder.start(who, resume=session)
        assert refused.value.code == "not_resumable" and str(refused.value)
        assert not intruder.upstreams.made and intruder.relay.state is RelayState.ENDED
    assert owners.relay.streaming and not owners.page.of_type("error")
    owners.relay.end(Ending.STOP)
    await owners.ended()
    assert await LiveSession.objects.filter(status=LiveStatus.ENDED).acount() == 1


async def test_a_page_keeps_asking_for_its_session_until_a_dead_server_would_have_let_it_go():
    """The timing contract: a connection is taken to be gone after three
    silent heartbeats, and a page coming back waits at least that long plus a
    heartbeat; the Live page holds its audio for longer still."""
    assert services.SILENT_AFTER_SECONDS == 3 * services.HEARTBEAT_SECONDS
    assert services.RESUME_WAIT_SECONDS >= services.SILENT_AFTER_SECONDS + services.HEARTBEAT_SECONDS


async def test_a_page_back_after_its_server_died_resumes_the_same_session(user):
    """Its web process died holding the session a moment after its last
    heartbeat: nobody hands it over, and the page's resume is answered once
    the old connection has been silent for SILENT_AFTER_SECONDS (with the
    10 s wait of before, the talk was split into a second session)."""
    from datetime import timedelta

    from django.utils import timezone

    orphan = await sync_to_async(services.start_session)(user, engine="local")
    await sync_to_async(services.append_segment)(orphan.pk, 0, "before the crash", None, 0.0, 1.0)
    beat = timezone.now() - timedelta(seconds=3)  # 12 s of silence to go
    await LiveSession.objects.filter(pk=orphan.pk).aupdate(heartbeat=beat)
    resuming = Harness()
    await resuming.start(user, resume=str(orphan.uuid), shown=1)
    assert resuming.page.one("ready")["resumed"] and resuming.relay.session_id == orphan.pk
    await resuming.commit("after it", 1.0, 2.0)
    resuming.relay.end(Ending.STOP)
    await resuming.ended()
    assert await transcript_text(resuming.page.one("ended")["transcript"]) == "before the crash after it"
    assert await LiveSession.objects.acount() == 1


async def test_no_audio_for_the_idle_timeout_stops_and_saves(user, settings):
    settings.LIVE_IDLE_TIMEOUT = 30
    harness = await streaming(user)
    harness.skew += 29
    harness.relay.on_heartbeat(False)
    assert harness.relay.streaming
    harness.skew += 2
    harness.relay.on_heartbeat(False)
    await harness.ended()
    idle = harness.page.one("error")
    assert idle["code"] == "idle" and "saved" in idle["message"]
    assert harness.page.one("ended")["transcript"] and harness.page.closed is Ending.IDLE
    assert harness.upstream.finished


async def test_a_session_at_the_maximum_length_stops_and_saves(user, settings):
    settings.LIVE_MAX_SESSION_SECONDS = 2
    harness = await streaming(user)
    harness.relay.on_heartbeat(False)
    assert harness.relay.streaming
    for frame in frames(SECOND):
        harness.relay.accept(frame)
    harness.relay.on_heartbeat(False)
    await harness.ended()
    limit = harness.page.one("error")
    assert limit["code"] == "session_limit" and "maximum length" in limit["message"]
    assert harness.page.one("ended") and harness.page.closed is Ending.SESSION_LIMIT
    assert len(harness.upstream.audio) == 2 * len(SECOND)


async def test_captions_reach_the_viewers_only_once_someone_holds_a_link(user):
    harness = await streaming(user)
    await harness.upstream.say(Partial("unseen"))
    await harness.commit("unseen either")
    harness.relay.on_heartbeat(True)
    await harness.upstream.say(Partial("seen"))
    await harness.commit("seen too")
    await harness.relay.disconnected(1000, page_left=True)
    assert [m.get("text") for m in harness.viewers.messages] == ["seen", "seen too", None]
    assert harness.viewers.messages[-1] == {"type": "ended"}


async def test_a_fatal_upstream_error_is_relayed_then_the_session_is_saved(user):
    harness = await streaming(user)
    await harness.commit("before the error")
    await harness.upstream.say(Failure("commit_throttled", MESSAGES["commit_throttled"], fatal=False))
    assert harness.relay.streaming
    await harness.upstream.say(Failure("quota_exceeded", MESSAGES["quota_exceeded"]))
    await harness.ended()
    errors = harness.page.of_type("error")
    assert [(e["code"], e["fatal"]) for e in errors] == [("commit_throttled", False), ("quota_exceeded", True)]
    assert errors[1]["message"] == MESSAGES["quota_exceeded"]
    assert harness.upstream.closed and not harness.upstream.finished
    assert harness.page.closed is Ending.UPSTREAM_FAILED
    transcript_id = harness.page.one("ended")["transcript"]
    assert await transcript_text(transcript_id) == "before the error"
    assert (await row(harness.relay)).error == MESSAGES["quota_exceeded"]


@pytest.mark.parametrize(
    "how, message, code",
    [
        (Ending.FRAME_TOO_LARGE, "", "frame_too_large"),
        (Ending.MALFORMED_FRAME, "", "malformed_frame"),
        (Ending.MALFORMED_FRAME, "An audio frame was not 16-bit PCM.", "malformed_frame"),
    ],
)
async def test_a_bad_frame_ends_the_session_with_its_reason(user, how, message, code):
    harness = await streaming(user)
    await harness.commit("kept")
    harness.relay.end(how, message)
    await harness.ended()
    error = harness.page.one("error")
    assert error["code"] == code and error["message"] == (message or PLANS[how].notice[1])
    assert harness.page.closed is how and harness.upstream.closed and not harness.upstream.finished
    session = await row(harness.relay)
    assert session.status == LiveStatus.ENDED and session.error == error["message"]
    assert await transcript_text(session.transcript_id) == "kept"


async def test_a_dropped_page_leaves_its_session_for_it_to_resume(user):
    harness = await streaming(user)
    harness.upstreams.flowing.clear()
    last = tone(0.4)
    for frame in frames(last):
        harness.relay.accept(frame)
    asyncio.get_running_loop().call_later(0.2, harness.upstreams.flowing.set)
    await harness.relay.disconnected(1006, page_left=False)
    assert bytes(harness.upstream.audio) == SECOND + last  # what was accepted still went upstream
    assert harness.upstream.finished and harness.page.closed is None
    session = await row(harness.relay)
    assert session.status == LiveStatus.ACTIVE and not session.attached
    assert harness.viewers.messages == []


async def test_a_page_that_closes_its_socket_without_stop_has_its_session_saved(user):
    harness = await streaming(user)
    await harness.commit("alpha bravo charlie", 0.0, 1.0)
    await harness.relay.disconnected(1001, page_left=True)
    session = await row(harness.relay)
    assert session.status == LiveStatus.ENDED and harness.upstream.finished
    assert await transcript_text(session.transcript_id) == "alpha bravo charlie"
    transcript = await Transcript.objects.select_related("media").aget(pk=session.transcript_id)
    assert transcript.media.duration == pytest.approx(1.0, abs=0.01)
    assert harness.viewers.messages == [{"type": "ended"}]


@pytest.mark.parametrize("how", list(Ending))
async def test_each_ending_runs_once_whatever_follows_it(user, how):
    harness = await streaming(user)
    first = harness.relay.end(how)
    assert harness.relay.state is RelayState.ENDING
    harness.relay.accept(tone(0.2))  # ignored from now on
    for other in Ending:
        assert harness.relay.end(other) is first
    harness.relay.on_release()
    await harness.relay.disconnected(1006, page_left=False)
    assert harness.relay.state is RelayState.ENDED
    plan = PLANS[how]
    assert harness.page.closed is (how if plan.closes else None)
    session = await row(harness.relay)
    assert session.status == (LiveStatus.ACTIVE if plan.session == "detach" else LiveStatus.ENDED)
    assert await Transcript.objects.acount() == (0 if plan.session == "detach" else 1)
    assert len(harness.upstream.audio) == len(SECOND)


@pytest.mark.parametrize("resumed", [False, True])
async def test_an_upstream_that_cannot_open_refuses_the_socket_and_keeps_only_a_resumed_session(user, resumed):
    options = {}
    if resumed:
        before = await streaming(user)
        await before.commit("earlier")
        await before.relay.disconnected(1006, page_left=False)
        options = {"resume": str((await row(before.relay)).uuid)}
    harness = Harness()
    harness.upstreams.refuse = UpstreamError("auth_error", MESSAGES["auth_error"])
    with pytest.raises(LiveRefused) as refused:
        await harness.start(user, **options)
    assert refused.value.code == "auth_error" and str(refused.value) == MESSAGES["auth_error"]
    assert harness.relay.state is RelayState.ENDED and not harness.page.messages
    sessions = [s async for s in LiveSession.objects.all()]
    if resumed:
        assert [(s.status, s.attached) for s in sessions] == [(LiveStatus.ACTIVE, False)]
    else:
        assert sessions == []


async def test_scribe_without_a_key_is_refused_before_any_session(user):
    harness = Harness()
    with pytest.raises(LiveRefused) as refused:
        await harness.start(user, engine="scribe")
    assert refused.value.code == "not_configured"
    assert not harness.upstreams.made and await LiveSession.objects.acount() == 0


async def test_a_client_commit_follows_the_audio_before_it_and_holds_back_the_audio_after(user) -> None:
    """A Scribe client's manual commit (api/compat/scribe_realtime.py): all
    audio accepted before it is upstream when the upstream commits, its text
    has reached the page when `done` runs, and later audio waits for both."""
    harness = Harness()
    await harness.start(user)
    harness.upstreams.on_commit = [Committed(text="before the commit", start=0, end=1)]
    seen: list[tuple[int, list[str]]] = []

    async def done() -> None:
        seen.append((len(harness.upstream.audio), [m["text"] for m in harness.page.of_type("committed")]))

    before, after = frames(SECOND), frames(SECOND)
    for frame in before:
        harness.relay.accept(frame)
    harness.relay.commit(done)
    for frame in after:
        harness.relay.accept(frame)
    await harness.flushed()
    assert harness.upstream.commits == 1
    assert seen == [(len(SECOND), ["before the commit"])]
    assert len(harness.upstream.audio) == 2 * len(SECOND)
    harness.relay.end(Ending.CLIENT_ERROR, "Unexpected message type: x")
    await harness.ended()
    session = await row(harness.relay)
    assert harness.upstream.finished and session.status == LiveStatus.ENDED  # what came before is kept
    assert session.error == "Unexpected message type: x" and harness.page.closed is Ending.CLIENT_ERROR


async def test_a_session_sending_only_silence_is_stopped_and_saved_with_a_message(user, settings):
    settings.LIVE_SILENCE_TIMEOUT = 60
    harness = await streaming(user)  # a second of tone
    quiet = tone(0.2, amplitude=0.0005)  # a muted microphone's hiss, about -66 dBFS
    for skew in (30, 29):
        harness.skew += skew
        harness.relay.accept(quiet)
        harness.relay.on_heartbeat(False)
        assert harness.relay.streaming
    harness.relay.accept(tone(0.2))  # someone speaks: the silence starts again
    harness.skew += 59
    harness.relay.accept(quiet)
    harness.relay.on_heartbeat(False)
    assert harness.relay.streaming
    harness.skew += 2
    harness.relay.accept(quiet)
    harness.relay.on_heartbeat(False)
    await harness.ended()
    notice = harness.page.one("error")
    assert notice["code"] == "silence" and "saved" in notice["message"]
    assert harness.page.one("ended")["transcript"] and harness.page.closed is Ending.SILENCE
    assert harness.upstream.finished


async def test_a_session_that_goes_over_the_owners_minutes_is_cut_off_with_its_text_saved(user, settings):
    """Checked at each heartbeat, not only at the start: the audio streamed
    so far counts toward the month's minutes for the engine."""
    from realtime.pulse import pulse
    from transcripts import quotas

    settings.QUOTA_MONTHLY_MINUTES = {"local": 1}
    await sync_to_async(quotas.record)(user, "local", 57)  # 3 s left this month
    harness = await streaming(user, audio=SECOND + SECOND)
    await harness.commit("said in time", 0.0, 1.5)
    await pulse().beat_once()
    assert harness.relay.streaming  # 2 s of 3
    for frame in frames(SECOND + SECOND):
        harness.relay.accept(frame)
    await harness.flushed()
    await pulse().beat_once()
    await harness.ended()
    notice = harness.page.one("error")
    assert notice["code"] == "quota" and "stopped and saved" in notice["message"] and "1:00" in notice["message"]
    transcript_id = harness.page.one("ended")["transcript"]
    assert await transcript_text(transcript_id) == "said in time"
    assert harness.page.closed is Ending.QUOTA and harness.upstream.finished
    assert (await row(harness.relay)).error == notice["message"]


async def test_a_session_that_fills_the_owners_storage_is_cut_off(user, settings):
    from realtime.pulse import pulse

    settings.QUOTA_STORAGE_BYTES = 3 * 32000  # three seconds of recording
    harness = await streaming(user, audio=SECOND)
    await pulse().beat_once()
    assert harness.relay.streaming
    for frame in frames(SECOND + SECOND + SECOND):
        harness.relay.accept(frame)
    await harness.flushed()
    await pulse().beat_once()
    await harness.ended()
    assert harness.page.one("error")["code"] == "quota" and "storage" in harness.page.one("error")["message"]


@pytest.mark.parametrize(("paced_by_client", "paused"), [(False, True), (True, False)])
async def test_a_backlog_pauses_a_microphones_captions_but_not_a_client_sending_a_file(
    user, settings, paced_by_client, paused
):
    """A microphone sends in real time, so a backlog past LIVE_MAX_BUFFER_SECONDS
    is the speech service falling behind; a Scribe API client streaming a file
    faster than real time makes its own backlog and waits for its text."""
    settings.LIVE_MAX_BUFFER_SECONDS = 4
    harness = await streaming(user, paced_by_client=paced_by_client)
    await harness.upstream.say(Lag(9.0))
    await harness.flushed()
    assert harness.relay.paused is paused
    harness.relay.end(Ending.STOP)
    await harness.ended()
