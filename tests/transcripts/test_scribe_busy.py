# ruff: noqa: F811 - the fixtures are imported from test_scribe_jobs
"""Batch rate limits queue, never fail: a 429 (with or without Retry-After),
a 5xx, or a connection refused before the upload puts the job back in the
queue with growing backoff, holding no worker thread; the row says
"Waiting: Scribe is busy, next try at 14:05"; only after the busy budget
does it fail, with a reason. The account's concurrency limit is one Redis
semaphore with leases for every worker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.fakes.scribe import Fault
from tests.transcripts.test_scribe_jobs import AUDIO, fake, make_job, run, scribe_settings  # noqa: F401
from transcripts.engines.scribe import slots as scribe_slots
from transcripts.jobs.progress import SNAPSHOT_FIELDS, snapshot
from transcripts.models import Status, Transcript, TranscriptResult

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick_waits(settings):
    settings.JOB_BUSY_BACKOFF_SECONDS = 4
    settings.JOB_BUSY_BACKOFF_MAX_SECONDS = 60
    settings.JOB_BUSY_BUDGET_SECONDS = 3600
    scribe_slots.reset()
    yield
    scribe_slots.reset()


def make_due(transcript: Transcript) -> None:
    Transcript.objects.filter(pk=transcript.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def row(transcript: Transcript) -> dict:
    return snapshot(Transcript.objects.filter(pk=transcript.pk).values(*SNAPSHOT_FIELDS).get())


def test_a_429_puts_the_job_back_to_wait_and_it_finishes_later(scribe_settings, fake, user):
    fake.faults.push("stt", Fault("status", status=429, headers={"Retry-After": "30"}), Fault("status", status=503))
    started = time.monotonic()
    transcript = run(make_job(user))
    assert time.monotonic() - started < 5  # no thread slept through the wait
    assert transcript.status == Status.QUEUED and transcript.attempts == 0
    assert transcript.next_attempt_at >= timezone.now() + timedelta(seconds=25)  # Retry-After honoured
    notice = row(transcript)["notice"]
    assert notice == f"Waiting: Scribe is busy, next try at {timezone.localtime(transcript.next_attempt_at):%H:%M}"
    # A delivery before its time does nothing.
    assert run(transcript).status == Status.QUEUED and len(fake.stt_requests()) == 1
    make_due(transcript)
    transcript = run(transcript)  # 503: waits again, longer
    assert transcript.status == Status.QUEUED and transcript.busy_retries == 2
    make_due(transcript)
    transcript = run(transcript)
    assert transcript.status == Status.DONE, transcript.error
    assert transcript.notice == "" and transcript.next_attempt_at is None and row(transcript)["notice"] == ""
    assert TranscriptResult.objects.filter(transcript=transcript).count() == 1
    third = fake.stt_requests()[2]
    assert third.fields("model_id") == ["scribe_v2"] and third.fields("file")[0]["size"] == len(AUDIO)


def test_many_429s_without_retry_after_never_fail_within_the_budget(scribe_settings, fake, user):
    fake.faults.push("stt", *[Fault("status", status=429)] * 8)
    transcript = make_job(user)
    waits = []
    for _ in range(8):
        transcript = run(transcript)
        assert transcript.status == Status.QUEUED, transcript.error
        waits.append((transcript.next_attempt_at - timezone.now()).total_seconds())
        make_due(transcript)
    assert run(transcript).status == Status.DONE
    assert waits[3] > waits[0] and max(waits) <= 60  # growing, capped


def test_connection_refused_before_sending_waits_too(scribe_settings, user):
    from tests.support import free_port

    scribe_settings.ELEVENLABS_BASE_URL = f"http://127.0.0.1:{free_port()}"
    transcript = run(make_job(user))
    assert transcript.status == Status.QUEUED and "Scribe is busy" in row(transcript)["notice"]


def test_only_after_the_budget_does_it_fail_with_a_reason(scribe_settings, fake, user):
    fake.faults.push("stt", Fault("status", status=429))
    transcript = make_job(user)
    Transcript.objects.filter(pk=transcript.pk).update(busy_since=timezone.now() - timedelta(hours=2))
    transcript = run(transcript)
    assert transcript.status == Status.FAILED
    assert "Scribe is busy" in transcript.error and "HTTP 429" in transcript.error and "Retry" in transcript.error


def test_webhook_mode_shows_the_same_waiting_state(scribe_settings, fake, user):
    scribe_settings.SCRIBE_WEBHOOK_SECRETS = [fake.webhook_secret]
    scribe_settings.SCRIBE_WEBHOOK_MIN_SECONDS = 0
    fake.faults.push("stt", Fault("status", status=429))
    transcript = run(make_job(user))
    assert transcript.status == Status.QUEUED and row(transcript)["notice"].startswith("Waiting: Scribe is busy")
    make_due(transcript)
    assert run(transcript).status == Status.WAITING  # accepted: waits for the webhook


def test_the_library_row_says_it_is_waiting(scribe_settings, fake, user, auth_client):
    fake.faults.push("stt", Fault("status", status=429))
    transcript = run(make_job(user))
    page = auth_client.get("/transcripts/").content.decode()
    assert "Waiting: Scribe is busy, next try at" in page
    assert auth_client.get(f"/transcripts/{transcript.pk}/status/").json()["notice"].startswith("Waiting:")


def test_no_free_slot_waits_in_the_queue_without_counting_as_busy(scribe_settings, fake, user, settings):
    settings.SCRIBE_MAX_CONCURRENCY = 1
    settings.SCRIBE_SLOT_WAIT_SECONDS = 5
    scribe_slots.reset()
    with scribe_slots.account_slots().hold():  # another worker holds the only slot
        transcript = run(make_job(user))
    assert transcript.status == Status.QUEUED and transcript.busy_retries == 0 and transcript.busy_since is None
    assert row(transcript)["notice"].startswith("Waiting: all Scribe slots are in use, next try at")
    assert fake.stt_requests() == []
    make_due(transcript)
    assert run(transcript).status == Status.DONE


def test_redis_slots_are_shared_and_a_dead_holders_slot_comes_back(settings):
    key = f"test:slots:{time.monotonic_ns()}"
    first = scribe_slots.RedisSlots(settings.REDIS_URL, limit=2, lease_seconds=1.0, key=key)
    second = scribe_slots.RedisSlots(settings.REDIS_URL, limit=2, lease_seconds=1.0, key=key)  # another process
    with first.hold(), second.hold():
        with pytest.raises(scribe_slots.NoFreeSlot):
            second.hold().__enter__()
        time.sleep(1.5)  # held slots are renewed while held
        with pytest.raises(scribe_slots.NoFreeSlot):
            first.hold().__enter__()
    assert first.in_use() == 0
    # A holder that died without giving its slot back (no renewals): the lease lapses.
    first.acquire_script(keys=[key], args=[2, 500, "dead-1"])
    first.acquire_script(keys=[key], args=[2, 500, "dead-2"])
    with pytest.raises(scribe_slots.NoFreeSlot):
        second.hold().__enter__()
    time.sleep(0.7)
    with second.hold():
        assert second.in_use() == 1
    first.redis.delete(key)
