"""Scribe jobs run end to end in-process against the fake Scribe server over
real sockets: options on the wire, retries, permanent errors, ambiguous
failures, webhook mode and reconciliation."""

from __future__ import annotations

import json

import pytest
from django.core.files.base import ContentFile

from tests.fakes.scribe import FakeScribe, Fault
from transcripts.engines import TranscriptionOptions
from transcripts.engines.scribe import client as scribe_client
from transcripts.engines.scribe import engine as scribe_engine
from transcripts.engines.scribe.webhook import site_tag
from transcripts.jobs import runner, sweeper
from transcripts.models import Media, Status, Transcript, TranscriptResult

AUDIO = b"RIFF" + bytes(range(256)) * 64


@pytest.fixture
def fake():
    with FakeScribe() as server:
        yield server


@pytest.fixture
def scribe_settings(settings, fake):
    settings.ELEVENLABS_API_KEY = fake.api_key
    settings.ELEVENLABS_BASE_URL = fake.base_url
    settings.SCRIBE_MODEL = "scribe_v2"
    settings.SCRIBE_WEBHOOK_SECRETS = []
    return settings


@pytest.fixture
def fast_backoff(monkeypatch):
    """Backoff without the waiting floor; Retry-After is still honoured."""
    monkeypatch.setattr(scribe_client, "BACKOFF_BASE_SECONDS", 0.05)


def make_job(user, options: TranscriptionOptions | None = None, *, duration: float = 12.0) -> Transcript:
    media = Media(
        owner=user,
        original_name="meeting.wav",
        extension=".wav",
        size=len(AUDIO),
        format_name="wav",
        mime_type="audio/wav",
        duration=duration,
        channels=2,
        sample_rate=16000,
    )
    media.file.save("upload", ContentFile(AUDIO), save=False)
    media.save()
    return Transcript.objects.create(
        owner=user,
        media=media,
        title="meeting",
        engine="scribe",
        options=(options or TranscriptionOptions()).to_dict(),
        duration=duration,
    )


def run(transcript: Transcript) -> Transcript:
    runner.run_job(transcript.pk)
    transcript.refresh_from_db()
    return transcript


@pytest.mark.django_db
def test_every_option_reaches_scribe_in_the_documented_encoding(scribe_settings, fake, user):
    options = TranscriptionOptions(
        language="en",
        diarize=True,
        diarization_threshold=0.3,
        tag_audio_events=False,
        keyterms=("Verbatim", "Scribe v2", "Ada Lovelace"),
        multichannel=False,
        timestamps_granularity="character",
        no_verbatim=True,
        entity_detection=("pii",),
        temperature=0.2,
        seed=42,
    )
    transcript = run(make_job(user, options))
    assert transcript.status == Status.DONE, transcript.error
    (request,) = fake.stt_requests()
    assert request.headers["xi-api-key"] == fake.api_key
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert request.fields("model_id") == ["scribe_v2"]
    assert request.fields("language_code") == ["en"]
    assert request.fields("diarize") == ["true"]
    assert request.fields("diarization_threshold") == ["0.3"]
    assert request.fields("num_speakers") == []  # Scribe refuses a threshold together with a speaker count
    assert request.fields("tag_audio_events") == ["false"]
    assert request.fields("timestamps_granularity") == ["character"]
    assert request.fields("keyterms") == ["Verbatim", "Scribe v2", "Ada Lovelace"]  # one part per term
    assert request.fields("no_verbatim") == ["true"]
    assert request.fields("entity_detection") == ['"pii"']
    assert request.fields("temperature") == ["0.2"]
    assert request.fields("seed") == ["42"]
    assert request.fields("webhook") == []
    (file_part,) = request.fields("file")
    assert file_part["size"] == len(AUDIO) and file_part["head"] == AUDIO[:64]


@pytest.mark.django_db
def test_defaults_speaker_count_and_multichannel(scribe_settings, fake, user):
    options = TranscriptionOptions(diarize=True, num_speakers=3, multichannel=True)
    transcript = run(make_job(user, options))
    assert transcript.status == Status.DONE, transcript.error
    (request,) = fake.stt_requests()
    assert request.fields("num_speakers") == ["3"]
    assert request.fields("use_multi_channel") == ["true"]
    assert request.fields("timestamps_granularity") == ["word"]
    assert request.fields("tag_audio_events") == ["true"]
    assert request.fields("language_code") == []
    data = transcript.result.data
    assert {word["channel_index"] for word in data["words"]} == {0, 1}
    assert "transcripts" in transcript.result.raw  # the multichannel response is kept as received


@pytest.mark.django_db
def test_single_channel_result_is_canonical_with_speakers(scribe_settings, fake, user):
    transcript = run(make_job(user, TranscriptionOptions(diarize=True)))
    result = TranscriptResult.objects.get(transcript=transcript)
    assert {w["speaker_id"] for w in result.data["words"] if w["type"] == "word"} == {"speaker_0", "speaker_1"}
    assert result.text.startswith("Hello from the fake Scribe server.")
    assert result.raw["transcription_id"]
    assert transcript.language_code == "en"  # normalised (transcripts/languages.py)


@pytest.mark.django_db
def test_bad_api_key_fails_at_once_with_a_readable_reason(scribe_settings, fake, user):
    scribe_settings.ELEVENLABS_API_KEY = "sk_wrong"
    transcript = run(make_job(user))
    assert transcript.status == Status.FAILED
    assert len(fake.stt_requests()) == 1
    assert "API key" in transcript.error and "401" in transcript.error


@pytest.mark.django_db
@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_permanent_errors_are_not_retried(scribe_settings, fake, user, status):
    detail = (
        [{"type": "missing", "loc": ["body", "model_id"], "msg": "Field required", "input": None}]
        if status == 422
        else {"code": "invalid_parameters", "message": "Scribe says no."}
    )
    fake.faults.push("stt", Fault("status", status=status, body={"detail": detail}))
    transcript = run(make_job(user))
    assert transcript.status == Status.FAILED
    assert len(fake.stt_requests()) == 1
    assert str(status) in transcript.error
    assert ("model_id: Field required" if status == 422 else "Scribe says no.") in transcript.error


@pytest.mark.django_db
def test_invalid_keyterm_is_reported_as_scribe_said(scribe_settings, fake, user):
    transcript = run(make_job(user, TranscriptionOptions(keyterms=("one two three four five six",))))
    assert transcript.status == Status.FAILED
    assert "invalid_keyword_length" in transcript.error


@pytest.mark.django_db
def test_dropped_connection_after_the_body_is_not_resent(scribe_settings, fake, user, fast_backoff):
    fake.faults.push("stt", Fault("drop_after_body"))
    transcript = run(make_job(user))
    assert len(fake.stt_requests()) == 1  # never sent twice
    assert len(fake.transcripts) == 1  # Scribe did transcribe (and bill) it
    assert transcript.status == Status.FAILED
    assert "not sent again" in transcript.error
    assert not TranscriptResult.objects.filter(transcript=transcript).exists()


# --- webhook mode -------------------------------------------------------------------


@pytest.fixture
def webhook_settings(scribe_settings, fake):
    scribe_settings.SCRIBE_WEBHOOK_SECRETS = [fake.webhook_secret]
    scribe_settings.SCRIBE_WEBHOOK_MIN_SECONDS = 60
    return scribe_settings


def deliver(client, fake) -> list[int]:
    from tests.support import wait_until

    wait_until(lambda: fake.outbox, 10, message="webhook sent")
    statuses = []
    while fake.outbox:
        raw, headers = fake.outbox.pop(0)
        response = client.post(
            "/webhooks/scribe/",
            raw,
            content_type="application/json",
            headers={"ElevenLabs-Signature": headers["ElevenLabs-Signature"]},
        )
        statuses.append(response.status_code)
    return statuses


@pytest.mark.django_db
def test_short_recordings_stay_synchronous_below_the_threshold(webhook_settings, fake, user):
    transcript = run(make_job(user, duration=30))
    assert transcript.status == Status.DONE
    assert fake.stt_requests()[0].fields("webhook") == []


@pytest.mark.django_db
def test_long_recording_waits_for_the_webhook(webhook_settings, fake, user, client):
    transcript = run(make_job(user, TranscriptionOptions(diarize=True), duration=3600))
    assert transcript.status == Status.WAITING
    (request,) = fake.stt_requests()
    assert request.fields("webhook") == ["true"]
    assert json.loads(request.fields("webhook_metadata")[0]) == {
        "transcript_id": transcript.pk,
        "site": site_tag(),
    }
    assert transcript.provider_request_id == request.response["transcription_id"]
    assert deliver(client, fake) == [200]
    transcript.refresh_from_db()
    assert transcript.status == Status.DONE
    assert {w.get("speaker_id") for w in transcript.result.data["words"] if w["type"] == "word"} == {
        "speaker_0",
        "speaker_1",
    }


@pytest.mark.django_db
def test_dropped_connection_in_webhook_mode_is_reconciled_by_the_webhook(webhook_settings, fake, user, client):
    fake.faults.push("stt", Fault("drop_after_body"))
    transcript = run(make_job(user, duration=3600))
    assert transcript.status == Status.WAITING
    assert transcript.provider_request_id == scribe_engine.UNCONFIRMED
    assert deliver(client, fake) == [200]
    transcript.refresh_from_db()
    assert transcript.status == Status.DONE
    assert len(fake.stt_requests()) == 1
    assert TranscriptResult.objects.filter(transcript=transcript).count() == 1


@pytest.mark.django_db
def test_sweeper_reconciles_a_lost_webhook_by_polling(webhook_settings, fake, user, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    fake.deliver_webhooks = False
    transcript = run(make_job(user, duration=3600))
    assert transcript.status == Status.WAITING
    from tests.support import wait_until

    wait_until(lambda: transcript.provider_request_id in fake.transcripts, 10, message="fake finished")
    Transcript.objects.filter(pk=transcript.pk).update(updated=timezone.now() - timedelta(hours=1))
    assert sweeper.reconcile_waiting(timezone.now()) == 1  # what the sweeper runs
    transcript.refresh_from_db()
    assert transcript.status == Status.DONE
    gets = fake.requests_to("/v1/speech-to-text/transcripts/", "GET")
    assert len(gets) == 1 and len(fake.stt_requests()) == 1


@pytest.mark.django_db
def test_reconcile_keeps_waiting_while_scribe_is_still_working(webhook_settings, fake, user):
    fake.deliver_webhooks = False
    fake.webhook_delay = 60
    transcript = run(make_job(user, duration=3600))
    assert scribe_engine.ScribeEngine().reconcile(transcript) is None
    transcript.refresh_from_db()
    assert transcript.status == Status.WAITING
