"""What Scribe offers that users ask for, each sent exactly as
scribe-api.md documents and checked by the fake: zero retention
(enable_logging=false) site-wide and per upload; the provider's copy deleted
once ours is stored and when the user deletes the transcript; entity
redaction; clean verbatim (no_verbatim) as an upload option."""

from __future__ import annotations

import pytest
from celery import current_app

from tests.fakes.scribe import FakeScribe
from tests.transcripts.test_scribe_jobs import make_job, run
from transcripts import services
from transcripts.engines import TranscriptionOptions
from transcripts.engines.scribe import client as scribe_client
from transcripts.engines.scribe.client import MediaSource, ScribeClient
from transcripts.engines.scribe.slots import LocalSlots
from transcripts.forms import UploadOptionsForm
from transcripts.models import Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake():
    with FakeScribe() as server:
        yield server


@pytest.fixture
def scribe(settings, fake):
    settings.ELEVENLABS_API_KEY = fake.api_key
    settings.ELEVENLABS_BASE_URL = fake.base_url
    settings.SCRIBE_WEBHOOK_SECRETS = []
    return settings


@pytest.fixture
def eager_tasks():
    """Celery runs tasks in place (its eager mode), so a follow-up task's
    effect on the fake can be checked without a worker."""
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = False


def deletes(fake) -> list[str]:
    return [r.path.rsplit("/", 1)[1] for r in fake.requests_to("/v1/speech-to-text/transcripts/", "DELETE")]


def test_zero_retention_per_upload_is_the_enable_logging_query_parameter(scribe, fake, user, eager_tasks):
    transcript = run(make_job(user, TranscriptionOptions(zero_retention=True)))
    assert transcript.status == Status.DONE, transcript.error
    (request,) = fake.stt_requests()
    assert ("enable_logging", "false") in request.query and request.fields("enable_logging") == []
    assert fake.transcripts == {}  # the fake kept nothing
    assert deletes(fake) == []  # nothing to delete


def test_zero_retention_site_wide(scribe, fake, user, eager_tasks):
    scribe.SCRIBE_ZERO_RETENTION = True
    run(make_job(user))
    assert ("enable_logging", "false") in fake.stt_requests()[0].query


def test_the_providers_copy_is_deleted_once_ours_is_stored(
    scribe, fake, user, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        transcript = run(make_job(user))
    copy_id = transcript.result.raw["transcription_id"]
    assert fake.stt_requests()[0].query == []  # logging left on: the copy is made, then deleted
    assert deletes(fake) == [copy_id] and copy_id not in fake.transcripts


def test_deleting_the_transcript_deletes_the_providers_copy(
    scribe, fake, user, eager_tasks, django_capture_on_commit_callbacks
):
    scribe.SCRIBE_DELETE_AFTER_STORE = False
    with django_capture_on_commit_callbacks(execute=True):
        transcript = run(make_job(user))
    copy_id = transcript.result.raw["transcription_id"]
    assert deletes(fake) == [] and copy_id in fake.transcripts
    with django_capture_on_commit_callbacks(execute=True):
        services.delete(transcript)
    assert deletes(fake) == [copy_id] and copy_id not in fake.transcripts


def test_entity_redaction_is_sent_as_documented(scribe, fake, user):
    transcript = run(make_job(user, TranscriptionOptions(entity_redaction=("pii",))))
    assert transcript.status == Status.DONE, transcript.error
    (request,) = fake.stt_requests()
    assert request.fields("entity_detection") == ['"pii"'] and request.fields("entity_redaction") == ['"pii"']
    assert request.fields("entity_redaction_mode") == []  # Scribe's default placeholders ({PERSON_NAME_1})


def test_the_fake_refuses_redaction_outside_detection(fake):
    client = ScribeClient(api_key=fake.api_key, base_url=fake.base_url, model="scribe_v2", slots=LocalSlots(2))
    fields = scribe_client.form_fields("scribe_v2", TranscriptionOptions(entity_redaction=("pci",)))
    assert ("entity_detection", '"pci"') in fields  # redaction implies detection, so Scribe accepts it
    source = MediaSource(filename="a.wav", open=lambda: __import__("io").BytesIO(b"RIFF" + bytes(64)))
    options = TranscriptionOptions(entity_detection=("pii",), entity_redaction=("pci",), entity_redaction_mode="x")
    body = client.speech_to_text(source, TranscriptionOptions(entity_detection=("pii",), entity_redaction=("pii",)))
    assert body["entities"] is None  # redacted: no entities returned
    with pytest.raises(scribe_client.PermanentEngineError, match="entity_redaction_mode"):
        client.speech_to_text(source, options)


def test_upload_form_offers_clean_verbatim_redaction_and_zero_retention():
    form = UploadOptionsForm(
        {"engine": "scribe", "no_verbatim": "on", "redact": "pii", "zero_retention": "on", "tag_audio_events": "on"}
    )
    form.fields["engine"].choices = [("scribe", "Scribe")]
    assert form.is_valid(), form.errors
    options = form.options()
    assert options.no_verbatim and options.entity_redaction == ("pii",) and options.zero_retention
    fields = dict(scribe_client.form_fields("scribe_v2", options))
    assert fields["no_verbatim"] == "true" and fields["entity_redaction"] == '"pii"'
