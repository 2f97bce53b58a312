"""Per-user quotas: storage, audio minutes per month per engine, jobs at once
and live sessions at once. Site-wide defaults come from settings, a user's
own from their Quota row; every refusal says the limit and the usage, and
leaves nothing behind; the account page shows the usage."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from realtime import recording
from realtime import services as live_services
from tests import media_corpus as corpus
from transcripts import quotas, services
from transcripts.models import EngineUsage, Media, Quota, Status, Transcript

UPLOAD_URL = "/transcripts/upload/file/"
# corpus.silent_wav(10) at 16 kHz mono: 320,044 bytes, 10 seconds.
TEN_SECONDS = corpus.silent_wav(10)


def upload(client, engine: str = "local", content: bytes = TEN_SECONDS):
    file = SimpleUploadedFile("meeting.wav", content, content_type="audio/wav")
    return client.post(UPLOAD_URL, {"file": file, "engine": engine}, headers={"accept": "application/json"})


def rows() -> tuple[int, int]:
    return Media.objects.count(), Transcript.objects.count()


@pytest.fixture
def scribe_available(settings):
    settings.ELEVENLABS_API_KEY = "test-key"  # only makes Scribe selectable; nothing is sent


@pytest.mark.django_db
def test_storage_quota_refuses_the_upload_that_would_pass_it(auth_client, settings, data_dir):
    settings.QUOTA_STORAGE_BYTES = 500_000
    assert upload(auth_client).status_code == 201
    before, files = rows(), sorted((data_dir / "media").rglob("*"))
    response = upload(auth_client)
    assert response.status_code == 403
    error = response.json()["error"]
    assert "320 KB of your 500 KB" in error and "needs 320 KB" in error
    assert rows() == before and sorted((data_dir / "media").rglob("*")) == files


@pytest.mark.django_db
def test_monthly_minutes_are_counted_per_engine(auth_client, settings, scribe_available):
    settings.QUOTA_MONTHLY_MINUTES = {"scribe": 0.25}  # 15 s of Scribe a month; local unlimited
    assert upload(auth_client, "scribe").status_code == 201
    response = upload(auth_client, "scribe")
    assert response.status_code == 403
    error = response.json()["error"]
    assert "Scribe" in error and "0:10 of your 0:15" in error and "this month" in error
    assert upload(auth_client, "local").status_code == 201


@pytest.mark.django_db
def test_deleting_a_transcript_does_not_give_its_minutes_back(auth_client, user, settings, scribe_available):
    settings.QUOTA_MONTHLY_MINUTES = {"scribe": 0.25}
    upload(auth_client, "scribe")
    services.delete(Transcript.objects.get())
    assert upload(auth_client, "scribe").status_code == 403


@pytest.mark.django_db
def test_minutes_start_again_each_month(auth_client, user, settings, scribe_available):
    settings.QUOTA_MONTHLY_MINUTES = {"scribe": 0.25}
    upload(auth_client, "scribe")
    EngineUsage.objects.update(created=quotas.month_start() - timedelta(seconds=1))
    assert upload(auth_client, "scribe").status_code == 201


@pytest.mark.django_db
def test_jobs_at_once_are_limited_and_finished_ones_do_not_count(auth_client, settings):
    settings.QUOTA_ACTIVE_JOBS = 2
    assert [upload(auth_client).status_code for _ in range(3)] == [201, 201, 403]
    assert "2 jobs queued or running; the limit is 2" in upload(auth_client).json()["error"]
    Transcript.objects.filter(pk=Transcript.objects.first().pk).update(status=Status.DONE)
    assert upload(auth_client).status_code == 201


@pytest.mark.django_db
def test_a_users_own_quota_overrides_the_site_default(auth_client, user, settings, scribe_available):
    settings.QUOTA_STORAGE_BYTES = 100
    settings.QUOTA_MONTHLY_MINUTES = {"scribe": 0}
    Quota.objects.create(user=user, storage_bytes=10_000_000, monthly_minutes={"scribe": 60})
    assert upload(auth_client, "scribe").status_code == 201
    Quota.objects.filter(user=user).update(storage_bytes=None)  # blank: the site default again
    assert upload(auth_client, "local").status_code == 403


@pytest.mark.django_db
def test_retry_and_a_new_batch_pass_respect_the_quota(user, settings):
    settings.QUOTA_MONTHLY_MINUTES = {"local": 0.25}
    media = Media.objects.create(
        owner=user, file="x.wav", original_name="x.wav", size=1, format_name="wav", duration=10, channels=1,
        sample_rate=16000,
    )  # fmt: skip
    failed = Transcript.objects.create(owner=user, media=media, title="x", engine="local", status=Status.FAILED,
                                       duration=10)  # fmt: skip
    assert services.retry(failed) is True  # 10 s of 15
    Transcript.objects.filter(pk=failed.pk).update(status=Status.FAILED)
    with pytest.raises(quotas.QuotaExceeded, match="0:10 of your 0:15"):
        services.retry(failed)
    with pytest.raises(quotas.QuotaExceeded):
        services.retranscribe(failed, engine="local")
    assert Transcript.objects.get(pk=failed.pk).status == Status.FAILED and Transcript.objects.count() == 1


@pytest.mark.django_db
def test_live_sessions_follow_the_users_quota(user, settings):
    settings.LIVE_MAX_SESSIONS_PER_USER = 3
    Quota.objects.create(user=user, live_sessions=1)
    live_services.start_session(user, engine="local")
    with pytest.raises(live_services.LiveRefused, match="1 live session open; the limit is 1"):
        live_services.start_session(user, engine="local")


@pytest.mark.django_db
def test_a_live_session_needs_minutes_left_and_counts_its_own(user, settings):
    settings.QUOTA_MONTHLY_MINUTES = {"local": 1}
    session = live_services.start_session(user, engine="local")
    live_services.append_segment(session.pk, 0, "hello", None, 0, 1)
    writer = recording.RecordingWriter(session.recording_name)
    writer.write(b"\0\0" * 16000 * 60)
    writer.close()
    live_services.end_session(session.pk)
    assert quotas.minutes_used(user, "local") == pytest.approx(1)
    with pytest.raises(live_services.LiveRefused, match="1:00 of your 1:00 Local"):
        live_services.start_session(user, engine="local")


@pytest.mark.django_db
def test_the_account_page_shows_usage_and_limits(auth_client, user, settings, scribe_available):
    settings.QUOTA_STORAGE_BYTES = 5_000_000
    settings.QUOTA_MONTHLY_MINUTES = {"scribe": 600}
    settings.QUOTA_ACTIVE_JOBS = 4
    upload(auth_client, "scribe")
    page = auth_client.get("/accounts/").content.decode()
    table = {
        what: (used, limit)
        for what, used, limit in re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td><td>(.*?)</td>', page)
    }
    assert table["Storage"] == ("320 KB", "5 MB")
    assert table["ElevenLabs Scribe this month"] == ("0:10", "10:00:00")  # 10 s of 600 minutes
    assert table["Local (offline) this month"] == ("0:00", "no limit")
    assert table["Jobs queued or running"] == ("1", "4")
    assert table["Live sessions open"] == ("0", "2")


def test_month_start_is_the_first_of_this_month_in_local_time():
    start = quotas.month_start()
    now = timezone.localtime()
    assert (start.year, start.month, start.day, start.hour) == (now.year, now.month, 1, 0)
