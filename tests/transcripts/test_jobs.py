"""Jobs run by a real Celery worker process with the local engine: an upload
is transcribed, progress is pushed as it goes, a running job can be
cancelled, and a failed one retried."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from tests import support, web
from tests.media_corpus import SENTENCE, story
from transcripts.models import Status, TranscriptResult

pytestmark = pytest.mark.slow


def long_speech() -> Path:
    """About a minute of speech, made once and cached."""
    return support.speech_file(story(18))


def medium_speech() -> Path:
    """About forty seconds of speech."""
    return support.speech_file(story(12, seed=3))


@pytest.fixture
def site(make_site):
    return make_site()


@pytest.fixture
def http(site, user):
    session = web.session_cookie(user)
    with web.signed_in(site.base_url, session) as client:
        client.session_id = session
        yield client


def test_upload_is_transcribed_by_the_worker_with_progress_pushed(site, http, speech):
    socket = web.JobSocket(site.base_url, http.session_id)
    job = web.upload(http, speech(SENTENCE + " " + SENTENCE))
    transcript = web.wait_for_status(job["id"], Status.DONE, Status.FAILED, timeout=120)
    assert transcript.status == Status.DONE, transcript.error + site.logs()
    result = TranscriptResult.objects.get(transcript=transcript)
    assert web.words_found(SENTENCE, result.text) >= 0.6, result.text
    assert transcript.language_code == "en" and transcript.progress == 100
    # The words are on the transcript page.
    page = http.get(f"/transcripts/{transcript.pk}/", headers={"Accept": "text/html"}).text
    assert "lazy" in page.lower() or "fox" in page.lower()
    support.wait_until(lambda: any(m["status"] == "done" for m in socket.messages), 10, message="done pushed")
    socket.close()
    mine = [message for message in socket.messages if message["id"] == job["id"]]
    statuses = [message["status"] for message in mine]
    assert statuses[0] == "transcribing" and statuses[-1] == "done"
    progress = [message["progress"] for message in mine]
    assert progress == sorted(progress) and progress[-1] == 100


def test_progress_goes_up_while_a_job_runs(site, http):
    socket = web.JobSocket(site.base_url, http.session_id)
    job = web.upload(http, medium_speech())
    assert web.wait_for_status(job["id"], Status.DONE, Status.FAILED, timeout=180).status == Status.DONE
    support.wait_until(lambda: any(m["status"] == "done" for m in socket.messages), 10, message="done pushed")
    socket.close()
    running = [m["progress"] for m in socket.messages if m["id"] == job["id"] and m["status"] == "transcribing"]
    assert running == sorted(running)
    assert len({value for value in running if 0 < value < 100}) >= 2, running
    # The status endpoint agrees with the last push.
    assert http.get(f"/transcripts/{job['id']}/status/").json()["progress"] == 100


def test_cancel_a_running_job_then_retry_it(site, http):
    job = web.upload(http, medium_speech())
    web.wait_for_status(job["id"], Status.TRANSCRIBING, timeout=60)
    answer = http.post(f"/transcripts/{job['id']}/cancel/").json()
    assert answer["status"] == "cancelled"
    # The worker notices at its next progress report and stores nothing.
    support.wait_until(lambda: "succeeded in" in site.logs(), 60, message="the task to end")
    transcript = web.wait_for_status(job["id"], Status.CANCELLED)
    assert not TranscriptResult.objects.filter(transcript=transcript).exists()

    answer = http.post(f"/transcripts/{job['id']}/retry/").json()
    assert answer["status"] in ("queued", "transcribing")
    transcript = web.wait_for_status(job["id"], Status.DONE, Status.FAILED, timeout=180)
    assert transcript.status == Status.DONE, transcript.error
    assert TranscriptResult.objects.filter(transcript=transcript).count() == 1
    assert transcript.attempts == 1  # a retry starts the count afresh


def test_a_failed_job_can_be_retried(make_site, user, speech):
    site = make_site(worker=False)
    with web.signed_in(site.base_url, web.session_cookie(user)) as http:
        job = web.upload(http, speech(SENTENCE))
        transcript = web.wait_for_status(job["id"], Status.QUEUED)
        stored = Path(settings.MEDIA_ROOT) / transcript.media.file.name
        content = stored.read_bytes()
        # The recording is damaged on disk before the worker gets to it.
        stored.write_bytes(b"garbage" * 100)
        site.start_worker()
        transcript = web.wait_for_status(job["id"], Status.FAILED, Status.DONE, timeout=60)
        assert transcript.status == Status.FAILED
        assert transcript.error.endswith(".") and "Traceback" not in transcript.error
        # Repaired, and retried from the page: now it succeeds.
        stored.write_bytes(content)
        # The worker may have claimed it before the answer is written.
        assert http.post(f"/transcripts/{job['id']}/retry/").json()["status"] in ("queued", "transcribing")
        transcript = web.wait_for_status(job["id"], Status.DONE, Status.FAILED, timeout=120)
        assert transcript.status == Status.DONE, transcript.error
        assert TranscriptResult.objects.filter(transcript=transcript).count() == 1


def test_cancelled_or_done_jobs_cannot_be_retried_twice(site, http, speech):
    job = web.upload(http, speech(SENTENCE))
    web.wait_for_status(job["id"], Status.DONE)
    response = http.post(f"/transcripts/{job['id']}/retry/")
    assert response.json()["status"] == "done"
