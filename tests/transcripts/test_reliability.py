"""Workers die; jobs do not get lost or run forever. A worker SIGKILLed
mid-job is replaced and the job ends done with exactly one transcript; a job
that keeps killing its worker ends failed after JOB_MAX_ATTEMPTS, with an
empty queue."""

from __future__ import annotations

import time

import pytest
import redis
from django.conf import settings
from django.core.files.storage import default_storage

from tests import support, web
from tests.media_corpus import SENTENCE
from tests.transcripts.test_jobs import long_speech
from transcripts.jobs.queue import enqueue
from transcripts.media.probe import inspect
from transcripts.models import Media, Status, Transcript, TranscriptResult

pytestmark = pytest.mark.slow

# Short leases and a frequent sweep, so a dead worker's job is noticed in seconds.
FAST_SWEEP = {"JOB_LEASE_SECONDS": "6", "SWEEP_INTERVAL_SECONDS": "2"}


@pytest.fixture(autouse=True)
def _empty_broker():
    """Each test counts the messages it leaves; start from none."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


def broker_state() -> dict:
    broker = redis.Redis.from_url(settings.REDIS_URL)
    return {key.decode(): broker.type(key).decode() for key in broker.keys("*")} | {
        "unacked": broker.hlen("unacked"),
        "local": broker.llen("local"),
    }


def broker_is_empty(unacked_allowed: int = 0) -> bool:
    """No job message waits in a queue. A worker killed with SIGKILL leaves its
    message "unacked" in Redis until the visibility timeout, hours later; its
    redelivery then finds the job finished and does nothing."""
    broker = redis.Redis.from_url(settings.REDIS_URL)
    queued = sum(broker.llen(queue) for queue in ("local", "scribe", "default"))
    return queued == 0 and broker.hlen("unacked") <= unacked_allowed


def test_worker_killed_mid_job_is_replaced_and_the_job_finishes_once(make_site, user):
    site = make_site(**FAST_SWEEP)
    first = site.processes[-1]
    with web.signed_in(site.base_url, web.session_cookie(user)) as http:
        job = web.upload(http, long_speech())
    support.wait_until(
        lambda: Transcript.objects.get(pk=job["id"]).progress > 0, 120, interval=0.1, message="the job to make progress"
    )
    first.kill()  # SIGKILL to the worker's whole process group
    first.popen.wait(10)
    assert Transcript.objects.get(pk=job["id"]).status == Status.TRANSCRIBING

    site.start_worker(beat=True, name="replacement")
    transcript = web.wait_for_status(job["id"], Status.DONE, Status.FAILED, timeout=240)
    assert transcript.status == Status.DONE, transcript.error + site.logs()
    assert transcript.attempts == 2
    assert TranscriptResult.objects.filter(transcript=transcript).count() == 1
    assert len(transcript.result.text.split()) > 100
    time.sleep(3)  # a late duplicate delivery would have run by now
    assert TranscriptResult.objects.filter(transcript=transcript).count() == 1
    assert broker_is_empty(unacked_allowed=1)


def crash_job(user) -> Transcript:
    """A job for the test-only engine that kills its own worker process."""
    source = support.speech_file(SENTENCE)
    info = inspect(str(source))
    media = Media(
        owner=user,
        original_name=source.name,
        extension=".wav",
        size=source.stat().st_size,
        format_name=info.format_name,
        duration=info.duration,
        channels=info.channels,
        sample_rate=info.sample_rate,
    )
    with source.open("rb") as file:
        media.file.save("crash.wav", file, save=True)
    return Transcript.objects.create(owner=user, media=media, title="Crash", engine="crash", duration=info.duration)


def test_a_job_that_keeps_killing_its_worker_fails_after_its_attempts(make_site, user):
    site = make_site(worker=False, EXTRA_ENGINES="crash=tests.engines.SelfKillingEngine", **FAST_SWEEP)
    transcript = crash_job(user)
    enqueue(transcript)
    worker = site.start_worker(beat=True, name="crashy")
    restarts = 0

    def given_up() -> bool:
        # Supervisor: whatever dies is started again, as systemd or Docker would.
        nonlocal worker, restarts
        if worker.popen.poll() is not None:
            worker = site.start_worker(beat=True, name="crashy")
            restarts += 1
        return Transcript.objects.get(pk=transcript.pk).status in (Status.FAILED, Status.DONE)

    support.wait_until(given_up, 150, interval=0.5, message="the job to be given up")
    transcript.refresh_from_db()
    assert transcript.status == Status.FAILED
    assert transcript.attempts == settings.JOB_MAX_ATTEMPTS == 3
    assert f"stopped unexpectedly {settings.JOB_MAX_ATTEMPTS} times" in transcript.error
    assert not TranscriptResult.objects.filter(transcript=transcript).exists()
    # Each attempt really killed a process running the job.
    assert site.logs().count("WorkerLostError") + restarts >= settings.JOB_MAX_ATTEMPTS, site.logs()
    support.wait_until(broker_is_empty, 20, message=f"an empty queue {broker_state()}")
    time.sleep(4)  # two more sweeps change nothing
    transcript.refresh_from_db()
    assert transcript.status == Status.FAILED and transcript.attempts == 3
    assert broker_is_empty()
    default_storage.delete(transcript.media.file.name)


def test_duplicate_delivery_of_a_job_is_a_no_op(make_site, user, speech):
    site = make_site()
    with web.signed_in(site.base_url, web.session_cookie(user)) as http:
        job = web.upload(http, speech(SENTENCE))
    transcript = web.wait_for_status(job["id"], Status.DONE)
    enqueue(transcript)  # the broker delivers it again
    support.wait_until(lambda: site.logs().count("succeeded in") >= 2, 30, message="the duplicate to run")
    transcript.refresh_from_db()
    assert transcript.status == Status.DONE and transcript.attempts == 1
    assert TranscriptResult.objects.filter(transcript=transcript).count() == 1
