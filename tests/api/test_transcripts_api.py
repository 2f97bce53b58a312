"""/api/v1/transcripts: create by upload (the upload form's validation and
messages, idempotent), list with filters and cursors, read, rename,
delete, cancel, retry, media."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from api.models import IdempotencyKey
from tests import support
from tests.api.test_auth import assert_problem
from tests.transcripts.factories import done_transcript, sentence_data, stored_media
from transcripts.models import Media, Status, Transcript

pytestmark = pytest.mark.django_db
URL = "/api/v1/transcripts"


@pytest.fixture
def recording() -> Path:
    return support.speech_file("The quarterly numbers look good this time.")


def upload(api: APIClient, path: Path, headers: dict | None = None, **fields):
    with path.open("rb") as file:
        return api.post(URL, {"file": file, **fields}, format="multipart", headers=headers or {})


def stored_files() -> set[str]:
    root = Path(default_storage.location)
    return {str(path) for path in root.rglob("*") if path.is_file()}


def test_an_upload_is_accepted_with_its_location_and_the_page_defaults(api, user, recording):
    response = upload(api, recording)
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == f"{URL}/{body['id']}"
    assert body["status"] == "queued" and body["title"] == recording.stem
    # Left out, an option takes the upload page's default for the engine, not "off"
    # (the local engine tags no audio events, so the page leaves that off for it).
    assert body["options"]["language"] == "en" and body["options"]["diarize"] is False
    assert body["options"]["tag_audio_events"] is False
    assert body["media"]["original_name"] == recording.name
    assert Transcript.objects.get(pk=body["id"]).owner == user  # in the library


def test_every_option_of_the_upload_form_is_taken(api, recording):
    response = upload(
        api,
        recording,
        engine="local",
        language="en",
        diarize="true",
        num_speakers="2",
        tag_audio_events="false",
        multichannel="true",
        keyterms=["Verbatim", "Scribe"],
    )
    options = response.json()["options"]
    assert options["language"] == "en" and options["diarize"] is True and options["num_speakers"] == 2
    assert options["tag_audio_events"] is False and options["multichannel"] is True
    assert options["keyterms"] == ["Verbatim", "Scribe"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"num_speakers": "99", "diarize": "true"}, "less than or equal to 32"),
        ({"engine": "nonsense"}, "Select a valid choice"),
        ({"keyterms": "one two three four five six"}, "is too long"),
    ],
)
def test_a_bad_option_gets_the_forms_message_and_nothing_is_kept(api, recording, fields, message):
    before = stored_files()
    body = assert_problem(upload(api, recording, **fields), 400, "validation")
    assert message in body["detail"] and body["errors"]
    assert Transcript.objects.count() == 0 and stored_files() == before


def test_no_file_gets_the_pages_message(api):
    body = assert_problem(api.post(URL, {"engine": "local"}, format="multipart"), 400, "validation")
    assert body["detail"] == "Choose a file to upload."


def test_a_file_that_is_not_media_is_refused_and_leaves_nothing(api, tmp_path):
    fake = tmp_path / "notes.mp3"
    fake.write_text("This is a text file renamed to look like audio.\n" * 50)
    before = stored_files()
    body = assert_problem(upload(api, fake), 400, "unsupported_media")
    assert "audio" in body["detail"].lower() or "read" in body["detail"].lower()
    assert Transcript.objects.count() == 0 and Media.objects.count() == 0 and stored_files() == before


def test_json_is_refused_for_creation(api):
    assert_problem(api.post(URL, {"engine": "local"}, format="json"), 415)


# --- idempotency ------------------------------------------------------------------


def test_a_retried_post_with_the_same_key_makes_one_transcript(api, recording):
    first = upload(api, recording, headers={"Idempotency-Key": "batch-7/file-1"})
    again = upload(api, recording, headers={"Idempotency-Key": "batch-7/file-1"})
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert Transcript.objects.count() == 1


def test_the_same_key_with_another_request_is_refused(api, recording):
    upload(api, recording, headers={"Idempotency-Key": "k1"})
    assert_problem(upload(api, recording, headers={"Idempotency-Key": "k1"}, num_speakers="3"), 422)
    assert Transcript.objects.count() == 1


def test_keys_are_per_user(api, bob_api, recording):
    upload(api, recording, headers={"Idempotency-Key": "same"})
    upload(bob_api, recording, headers={"Idempotency-Key": "same"})
    assert Transcript.objects.count() == 2


def test_a_refused_request_lets_its_key_be_used_again(api, recording):
    assert_problem(upload(api, recording, headers={"Idempotency-Key": "k2"}, engine="nonsense"), 400)
    assert upload(api, recording, headers={"Idempotency-Key": "k2"}).status_code == 202


@pytest.mark.django_db(transaction=True)
def test_two_copies_at_once_make_one_transcript(user, token, recording):
    """Both threads post the same key together: one makes the job, the other
    is told it is in progress (409) or gets the same job back."""
    from tests.api.conftest import bearer

    barrier = threading.Barrier(4)
    answers = []

    def send():
        barrier.wait()
        try:
            answers.append(upload(bearer(token), recording, headers={"Idempotency-Key": "together"}))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(202) >= 1 and set(statuses) <= {202, 409}, statuses
    assert Transcript.objects.count() == 1
    ids = {answer.json()["id"] for answer in answers if answer.status_code == 202}
    assert len(ids) == 1
    assert IdempotencyKey.objects.get(key="together").completed


# --- reading and acting -----------------------------------------------------------


def test_the_list_is_newest_first_with_cursors_and_filters(api, user):
    for index in range(5):
        done_transcript(user, sentence_data("hello there"), title=f"Meeting {index}")
    Transcript.objects.create(owner=user, title="Running", engine="local", status=Status.TRANSCRIBING)
    first = api.get(URL, {"page_size": 2}).json()
    assert [item["title"] for item in first["results"]] == ["Running", "Meeting 4"]
    second = api.get(first["next"]).json()
    assert [item["title"] for item in second["results"]] == ["Meeting 3", "Meeting 2"]
    done = api.get(URL, {"status": "done"}).json()["results"]
    assert len(done) == 5 and all(item["status"] == "done" for item in done)


def test_a_transcript_shows_its_state(api, user):
    transcript = Transcript.objects.create(
        owner=user,
        title="Call",
        engine="local",
        status=Status.FAILED,
        error="The recording is silent.",
        duration=12.5,
        options={"language": "en"},
    )
    body = api.get(f"{URL}/{transcript.pk}").json()
    assert body["status"] == "failed" and body["status_label"] == "Failed"
    assert body["error"] == "The recording is silent." and body["duration"] == 12.5
    assert body["options"] == {"language": "en"} and body["urls"]["page"] == f"/transcripts/{transcript.pk}/"


def test_rename_delete_cancel_retry(api, user, recording):
    media = stored_media(user, recording)
    transcript = Transcript.objects.create(owner=user, media=media, title="Old", engine="local", duration=2)
    assert api.patch(f"{URL}/{transcript.pk}", {"title": "New"}, format="json").json()["title"] == "New"
    assert_problem(api.patch(f"{URL}/{transcript.pk}", {"title": ""}, format="json"), 400)
    assert api.post(f"{URL}/{transcript.pk}/cancel").json()["status"] == "cancelled"
    body = assert_problem(api.post(f"{URL}/{transcript.pk}/cancel"), 409, "not_active")
    assert body["detail"] == "This job had already finished."
    assert api.post(f"{URL}/{transcript.pk}/retry").json()["status"] == "queued"
    assert_problem(api.post(f"{URL}/{transcript.pk}/retry"), 409, "not_retryable")
    assert api.delete(f"{URL}/{transcript.pk}").status_code == 204
    assert not Transcript.objects.filter(pk=transcript.pk).exists() and not Media.objects.filter(pk=media.pk).exists()


def test_media_is_served_in_ranges(api, user, recording):
    transcript = Transcript.objects.create(
        owner=user, media=stored_media(user, recording), title="R", engine="local", duration=2
    )
    response = api.get(f"{URL}/{transcript.pk}/media", HTTP_RANGE="bytes=0-99", HTTP_ACCEPT="audio/*")
    assert response.status_code == 206 and response["Content-Range"].startswith("bytes 0-99/")
    assert b"".join(response.streaming_content) == recording.read_bytes()[:100]


def test_another_users_transcript_is_404(bob_api, user):
    transcript = done_transcript(user, sentence_data("secret words"))
    for url in (f"{URL}/{transcript.pk}", f"{URL}/{transcript.pk}/result", f"{URL}/{transcript.pk}/export/txt"):
        assert_problem(bob_api.get(url), 404)
    assert_problem(bob_api.delete(f"{URL}/{transcript.pk}"), 404)
    assert Transcript.objects.filter(pk=transcript.pk).exists()


def test_past_the_quota_the_api_says_why(api, token, recording, settings):
    settings.QUOTA_ACTIVE_JOBS = 1
    assert upload(api, recording).status_code == 202
    body = assert_problem(upload(api, recording), 403, "quota_exceeded")
    assert "1" in body["detail"] and Transcript.objects.count() == 1
    client = Client()
    with recording.open("rb") as file:
        refused = client.post(
            "/v1/speech-to-text", {"model_id": "scribe_v2", "file": file}, headers={"xi-api-key": token}
        )
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "quota_exceeded"
