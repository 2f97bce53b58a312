"""The operator's console (Django admin): jobs with their state, error,
attempts and lease, acted on through the services (retry, cancel, requeue,
delete); media; share and live links revoked; users with their quota and
usage; invites. Only staff get in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Invite
from realtime import services as live_services
from realtime.models import LiveLink
from tests.support import speech_file
from tests.transcripts.factories import done_transcript, sentence_data, stored_media
from transcripts import sharing
from transcripts.models import EngineUsage, Media, Quota, ShareLink, Status, Transcript


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_user("root", "root@example.com", "x", is_staff=True, is_superuser=True)


@pytest.fixture
def console(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def job(owner, status: str, **fields) -> Transcript:
    media = Media.objects.create(
        owner=owner, file="m.wav", original_name="m.wav", size=1000, format_name="wav", duration=30, channels=1,
        sample_rate=16000,
    )  # fmt: skip
    return Transcript.objects.create(
        owner=owner, media=media, title=f"{status} job", engine="local", status=status, duration=30, **fields
    )


def act(console: Client, model: str, action: str, *rows) -> str:
    response = console.post(
        reverse(f"admin:{model}_changelist"),
        {"action": action, "_selected_action": [row.pk for row in rows]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_only_staff_reach_the_console(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:transcripts_transcript_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_the_job_list_shows_state_error_attempts_and_lease(console, user):
    job(user, Status.FAILED, error="The engine could not read this file.", attempts=3)
    page = console.get(reverse("admin:transcripts_transcript_changelist") + "?status__exact=failed").content.decode()
    assert "failed job" in page and "The engine could not read this file." in page
    assert "field-attempts" in page and ">3<" in page and "field-lease_expires_at" in page


@pytest.mark.django_db
def test_retry_cancel_and_requeue_go_through_the_services(console, user, django_capture_on_commit_callbacks):
    failed = job(user, Status.FAILED, error="boom", attempts=3)
    running = job(user, Status.TRANSCRIBING, attempts=1)
    stuck = job(user, Status.TRANSCRIBING, attempts=2)
    with django_capture_on_commit_callbacks() as callbacks:
        page = act(console, "transcripts_transcript", "retry_jobs", failed, running)
    assert "Queued again: 1. Not applicable: 1." in page
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.error) == (Status.QUEUED, 0, "")
    assert len(callbacks) == 1  # the job was sent to a worker
    assert EngineUsage.objects.filter(user=user).count() == 1  # and counted against the quota

    act(console, "transcripts_transcript", "cancel_jobs", running)
    running.refresh_from_db()
    assert running.status == Status.CANCELLED and running.finished_at

    with django_capture_on_commit_callbacks() as callbacks:
        act(console, "transcripts_transcript", "requeue_jobs", stuck)
    stuck.refresh_from_db()
    assert (stuck.status, stuck.attempts) == (Status.QUEUED, 2) and len(callbacks) == 1


@pytest.mark.django_db
def test_a_retry_past_the_users_quota_is_refused_with_the_reason(console, user, settings):
    settings.QUOTA_MONTHLY_MINUTES = {"local": 0.1}
    failed = job(user, Status.FAILED)
    page = act(console, "transcripts_transcript", "retry_jobs", failed)
    assert "minutes this month" in page
    assert Transcript.objects.get(pk=failed.pk).status == Status.FAILED


@pytest.mark.django_db
def test_jobs_cannot_be_edited_by_hand(console, user):
    failed = job(user, Status.FAILED)
    page = console.get(reverse("admin:transcripts_transcript_change", args=[failed.pk])).content.decode()
    assert 'name="status"' not in page and 'name="attempts"' not in page
    console.post(reverse("admin:transcripts_transcript_change", args=[failed.pk]), {"status": "done"})
    assert Transcript.objects.get(pk=failed.pk).status == Status.FAILED


@pytest.mark.django_db
def test_deleting_a_job_in_the_console_deletes_its_recording(console, user, django_capture_on_commit_callbacks):
    media = stored_media(user, speech_file("Delete me from the console."))
    transcript = done_transcript(user, sentence_data("delete me"), media=media)
    path = Path(media.file.path)
    with django_capture_on_commit_callbacks(execute=True):
        console.post(reverse("admin:transcripts_transcript_delete", args=[transcript.pk]), {"post": "yes"})
    assert not Transcript.objects.exists() and not Media.objects.exists()
    assert not path.exists()


@pytest.mark.django_db
def test_media_are_listed_with_owner_and_size(console, user):
    job(user, Status.DONE)
    page = console.get(reverse("admin:transcripts_media_changelist")).content.decode()
    assert "m.wav" in page and "alice" in page and "1 KB" in page


@pytest.mark.django_db
def test_revoking_a_share_link_in_the_console_closes_it(console, user):
    transcript = done_transcript(user, sentence_data("shared words"))
    link, token = sharing.create_link(transcript)
    assert Client().get(reverse("share", args=[token])).status_code == 200
    page = console.get(reverse("admin:transcripts_sharelink_changelist")).content.decode()
    assert link.token_hash not in page and token not in page
    assert "Revoked: 1." in act(console, "transcripts_sharelink", "revoke_links", link)
    assert Client().get(reverse("share", args=[token])).status_code == 404
    assert ShareLink.objects.get().revoked_at is not None


@pytest.mark.django_db
def test_live_sessions_are_listed_and_their_links_revoked(console, user):
    session = live_services.start_session(user, engine="local")
    new = live_services.create_link(session)
    page = console.get(reverse("admin:realtime_livesession_changelist")).content.decode()
    assert session.title in page and "alice" in page
    act(console, "realtime_livelink", "revoke_links", new.link)
    assert Client().get(f"/live/view/{new.token}/").status_code == 404
    assert LiveLink.objects.get().revoked_at is not None


@pytest.mark.django_db
def test_an_operator_sets_a_users_quota_and_sees_their_usage(console, user):
    EngineUsage.objects.create(user=user, engine="local", seconds=90)
    url = reverse("admin:auth_user_change", args=[user.pk])
    page = console.get(url).content.decode()
    assert "Local (offline) this month" in page and "1:30" in page
    form = {
        "username": "alice", "email": "alice@example.com", "is_active": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        "quota-TOTAL_FORMS": "1", "quota-INITIAL_FORMS": "0", "quota-MIN_NUM_FORMS": "0", "quota-MAX_NUM_FORMS": "1",
        "quota-0-user": str(user.pk), "quota-0-storage_gb": "2.5", "quota-0-minutes_scribe": "120",
        "quota-0-minutes_local": "", "quota-0-active_jobs": "", "quota-0-live_sessions": "1",
    }  # fmt: skip
    response = console.post(url, form)
    assert response.status_code == 302, re.findall(r'class="errorlist[^>]*>(.*?)</ul>', response.content.decode())
    quota = Quota.objects.get(user=user)
    assert quota.storage_bytes == 2_500_000_000 and quota.monthly_minutes == {"scribe": 120}
    assert (quota.active_jobs, quota.live_sessions) == (None, 1)


@pytest.mark.django_db
def test_an_operator_creates_an_invite_and_sees_its_link_once(console, operator):
    response = console.post(reverse("admin:accounts_invite_add"), {"note": "Sam", "days": "2"}, follow=True)
    page = response.content.decode()
    token = re.search(r"/accounts/signup/([A-Za-z0-9_-]{40,})/", page).group(1)
    invite = Invite.objects.get()
    assert invite.created_by == operator and invite.note == "Sam" and invite.is_live
    listing = console.get(reverse("admin:accounts_invite_changelist")).content.decode()
    assert token not in listing and "By invitation" in listing
    act(console, "accounts_invite", "revoke_invites", invite)
    assert Client().get(reverse("signup_invite", args=[token])).status_code == 404


@pytest.mark.django_db
def test_the_console_refuses_an_address_another_account_uses(console, user, other_user):
    url = reverse("admin:auth_user_change", args=[other_user.pk])
    form = {
        "username": "bob", "email": "ALICE@example.com", "is_active": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        "quota-TOTAL_FORMS": "0", "quota-INITIAL_FORMS": "0", "quota-MIN_NUM_FORMS": "0", "quota-MAX_NUM_FORMS": "1",
    }  # fmt: skip
    response = console.post(url, form)
    assert response.status_code == 200 and "Another account uses this address" in response.content.decode()
    other_user.refresh_from_db()
    assert other_user.email == "bob@example.com"
