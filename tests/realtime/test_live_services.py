"""Live sessions as saved data: recovery after an unclean stop, live viewer
links (token rules), the live page, and re-transcribing in batch."""

from __future__ import annotations

import wave
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from realtime import services
from realtime.live import live_options
from realtime.models import LiveLink, LiveSession, LiveStatus
from realtime.recording import RecordingWriter
from transcripts.models import Status, Transcript

pytestmark = pytest.mark.django_db


def crashed_session(user, pcm: bytes) -> LiveSession:
    """A session whose process died mid-stream: header sizes still zero, a
    half sample at the end, the heartbeat long gone."""
    session = services.start_session(user, engine="scribe", language="en")
    writer = RecordingWriter(session.recording_name)
    writer.write(pcm + b"\x01")
    writer.close()
    services.append_segment(session.pk, 0, "saved before the crash", None, 0.0, 1.0)
    LiveSession.objects.filter(pk=session.pk).update(heartbeat=timezone.now() - timedelta(hours=1))
    return session


def test_a_session_left_by_a_crash_is_recovered_with_its_recording(user):
    pcm = b"\x10\x00" * 16000  # one second
    session = crashed_session(user, pcm)
    assert services.recover_stale_sessions() == 1
    session.refresh_from_db()
    assert session.status == LiveStatus.ENDED and "unexpectedly" in session.error
    transcript = Transcript.objects.select_related("result", "media").get(pk=session.transcript_id)
    assert transcript.status == Status.DONE and transcript.result.text == "saved before the crash"
    assert transcript.media.duration == pytest.approx(1.0)
    with default_storage.open(transcript.media.file.name, "rb") as handle, wave.open(handle) as wav:
        assert wav.getnframes() == 16000 and wav.readframes(16000) == pcm


def test_a_session_left_by_a_crash_can_be_resumed_by_its_owner_and_records_on(user):
    """The server died mid-sample; after the restart the page reconnects with
    ?resume=: the session goes on, the half sample is dropped, the segment
    numbering continues."""
    pcm = b"\x10\x00" * 16000
    session = crashed_session(user, pcm)
    resumed = services.resume_session(user, str(session.uuid))
    assert resumed.pk == session.pk and resumed.attached
    assert services.next_segment_index(session.pk) == 1
    writer = RecordingWriter(session.recording_name)
    assert writer.bytes == len(pcm)  # the half sample left by the crash is gone
    writer.write(pcm)
    writer.close()
    transcript = services.end_session(session.pk)
    with default_storage.open(transcript.media.file.name, "rb") as handle, wave.open(handle) as wav:
        assert wav.readframes(wav.getnframes()) == pcm + pcm


def test_a_session_still_streaming_is_busy_until_its_holder_hands_it_over(user):
    session = services.start_session(user, engine="scribe")
    with pytest.raises(services.SessionBusy) as busy:
        services.resume_session(user, str(session.uuid))
    assert services.heartbeat([session.pk]).released == set()
    services.request_release(busy.value.session_id)
    assert services.heartbeat([session.pk]).released == {session.pk}  # the holder hears of it at its next beat
    services.detach_session(session.pk)  # ...and hands the session over
    resumed = services.resume_session(user, str(session.uuid))
    assert resumed.attached and not resumed.release_requested


@pytest.mark.parametrize(
    "query, shown",
    [
        (b"resume=x&shown=3", 3),
        (b"resume=x", None),
        (b"resume=x&shown=-1", None),
        (b"resume=x&shown=%C2%B2", None),  # a superscript two: a digit to str.isdigit, not to int()
        (b"resume=x&shown=" + b"9" * 5000, None),
    ],
)
def test_the_live_socket_reads_shown_only_as_a_small_count(query, shown):
    assert live_options({"query_string": query}).shown == shown


def test_ending_twice_makes_one_transcript(user):
    session = services.start_session(user, engine="local")
    first = services.end_session(session.pk)
    second = services.end_session(session.pk)
    assert first.pk == second.pk and Transcript.objects.count() == 1


def test_session_cap_counts_only_live_sessions(user, settings):
    settings.LIVE_MAX_SESSIONS_PER_USER = 1
    first = services.start_session(user, engine="local")
    with pytest.raises(services.LiveRefused):
        services.start_session(user, engine="local")
    services.end_session(first.pk)
    services.start_session(user, engine="local")


def test_live_link_opens_for_anyone_and_404s_once_revoked_expired_or_unknown(client, user):
    session = services.start_session(user, engine="local")
    services.append_segment(session.pk, 0, "hello viewers", None, 0, 1)
    new = services.create_link(session)
    assert LiveLink.objects.get().token_hash != new.token and new.token not in str(LiveLink.objects.values().get())
    assert len(new.token) >= 43  # 256 bits
    page = client.get(f"/live/view/{new.token}/")
    assert page.status_code == 200 and "hello viewers" in page.content.decode()
    assert client.get(f"/live/view/{new.token}x/").status_code == 404
    new.link.revoke()
    assert client.get(f"/live/view/{new.token}/").status_code == 404

    expiring = services.create_link(session, expires_in=timedelta(hours=1))
    assert client.get(f"/live/view/{expiring.token}/").status_code == 200
    LiveLink.objects.filter(pk=expiring.link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(f"/live/view/{expiring.token}/").status_code == 404


def test_viewer_sees_the_saved_transcript_after_the_session_ends(client, user):
    session = services.start_session(user, engine="local")
    services.append_segment(session.pk, 0, "the final words", None, 0, 1)
    new = services.create_link(session)
    services.end_session(session.pk)
    page = client.get(f"/live/view/{new.token}/").content.decode()
    assert "has ended" in page and "final" in page and "words" in page


def test_only_the_owner_creates_links_for_a_session(client, user, other_user):
    session = services.start_session(user, engine="local")
    client.force_login(other_user)
    assert client.post(f"/live/{session.uuid}/links/").status_code == 404
    client.force_login(user)
    response = client.post(f"/live/{session.uuid}/links/")
    assert response.status_code == 201 and "/live/view/" in response.json()["url"]


def test_live_page_needs_a_login_and_shows_the_controls(client, user):
    assert client.get("/live/").status_code == 302
    client.force_login(user)
    page = client.get("/live/").content.decode()
    assert 'id="live-start"' in page and "live.js" in page


def test_retranscribe_in_batch_keeps_the_live_transcript(client, user, other_user):
    session = services.start_session(user, engine="scribe")
    services.append_segment(session.pk, 0, "live words", None, 0, 1)
    live = services.end_session(session.pk)
    client.force_login(other_user)
    assert client.post(f"/transcripts/{live.pk}/retranscribe/").status_code == 404
    client.force_login(user)
    detail = client.get(f"/transcripts/{live.pk}/").content.decode()
    assert "Re-transcribe in batch" in detail
    response = client.post(f"/transcripts/{live.pk}/retranscribe/", {"engine": "local"})
    batch = Transcript.objects.exclude(pk=live.pk).get()
    assert response.status_code == 302 and response.url == f"/transcripts/{batch.pk}/"
    assert batch.media_id == live.media_id and batch.status == Status.QUEUED and batch.engine == "local"
    assert Transcript.objects.get(pk=live.pk).status == Status.DONE
    assert default_storage.exists(live.media.file.name)


def test_the_live_page_holds_audio_for_as_long_as_the_server_may_take_to_give_the_session_back(client, user):
    """The page's side of the reconnect contract: its timing comes from the
    server's constants (realtime/services.py), and live.js reads it from there."""
    import re
    from pathlib import Path

    client.force_login(user)
    page = client.get("/live/").content.decode()
    resume = float(re.search(r'data-resume-seconds="([\d.]+)"', page).group(1))
    hold = float(re.search(r'data-hold-seconds="([\d.]+)"', page).group(1))
    assert resume == services.RESUME_WAIT_SECONDS >= services.SILENT_AFTER_SECONDS + services.HEARTBEAT_SECONDS
    assert hold > resume
    script = (Path(__file__).parents[2] / "frontend/static/js/live.js").read_text()
    assert "root.dataset.holdSeconds" in script and "root.dataset.bufferSeconds" in script


def test_one_account_holds_at_most_its_share_of_the_local_live_slots(user, other_user, settings):
    settings.LIVE_LOCAL_MAX_SESSIONS = 2
    settings.LIVE_LOCAL_SESSIONS_PER_USER = 1
    first = services.start_session(user, engine="local")
    with pytest.raises(services.LiveRefused) as refused:
        services.start_session(user, engine="local")
    assert refused.value.code == "local_share" and "shared" in str(refused.value)
    services.start_session(other_user, engine="local")  # the other slot is someone else's to take
    services.start_session(user, engine="scribe")  # other engines are not limited by it
    services.end_session(first.pk)
    services.start_session(user, engine="local")


def test_a_french_session_retranscribed_on_an_english_only_model_is_english(client, user):
    session = services.start_session(user, engine="scribe", language="fr")
    services.append_segment(session.pk, 0, "bonjour", None, 0, 1)
    live = services.end_session(session.pk)
    assert live.options["language"] == "fr"
    client.force_login(user)
    client.post(f"/transcripts/{live.pk}/retranscribe/", {"engine": "local"})
    batch = Transcript.objects.exclude(pk=live.pk).get()
    # The bundled tiny.en knows English only: asking it for French would be ignored.
    assert batch.options["language"] == "en"
