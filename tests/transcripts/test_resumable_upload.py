"""Resumable uploads (tus 1.0.0) in process: the protocol's answers, the file
assembled in its final place on a local disk or in an S3 bucket (moto on
loopback), every existing refusal with the same message and nothing left
behind (no row, no file, no object, no unfinished multipart upload, no temp
file), and expired uploads swept."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.test import override_settings
from django.utils import timezone

from tests import media_corpus as corpus
from tests import web
from tests.transcripts.test_upload import BAD_UPLOADS, listing
from transcripts import resumable
from transcripts.models import Media, Quota, ResumableUpload, Transcript

TUS_URL = "/transcripts/tus/"
TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_TYPE = "application/offset+octet-stream"


def create(client, length: int, filename: str = "speech.wav", **options: str):
    headers = {**TUS, "Upload-Length": str(length), "Upload-Metadata": web.tus_metadata(filename=filename, **options)}
    return client.post(TUS_URL, headers=headers)


def patch(client, location: str, offset: int, data: bytes, **extra: str):
    headers = {**TUS, "Upload-Offset": str(offset), **extra}
    return client.generic("PATCH", location, data, content_type=OFFSET_TYPE, headers=headers)


def head(client, location: str):
    return client.head(location, headers=TUS)


def upload_in_pieces(client, data: bytes, piece: int, filename: str = "speech.wav", **options: str):
    """Create and send every piece; returns the last response."""
    created = create(client, len(data), filename, engine="local", **options)
    assert created.status_code == 201, created.content
    location = created["Location"]
    offset = 0
    while True:
        response = patch(client, location, offset, data[offset : offset + piece])
        if response.status_code != 204 or offset + piece >= len(data):
            return response
        offset = int(response["Upload-Offset"])


def state(bucket_server=None, bucket: str | None = None) -> dict:
    snapshot = {
        "tmp": listing(Path(settings.FILE_UPLOAD_TEMP_DIR)),
        "media": listing(Path(settings.MEDIA_ROOT)),
        "rows": (Media.objects.count(), Transcript.objects.count(), ResumableUpload.objects.count()),
    }
    if bucket_server is not None:
        snapshot["objects"] = bucket_server.objects(bucket)
        snapshot["unfinished"] = bucket_server.unfinished_uploads(bucket)
    return snapshot


# --- the protocol -----------------------------------------------------------------------


@pytest.mark.django_db
def test_options_advertise_the_version_extensions_and_size_limit(auth_client):
    response = auth_client.options(TUS_URL)
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "termination",
        "expiration",
    }
    assert int(response["Tus-Max-Size"]) == settings.MAX_UPLOAD_BYTES


@pytest.mark.django_db
def test_a_file_sent_in_pieces_is_assembled_in_place_and_queued(auth_client, user):
    data = corpus.speech_wav().read_bytes()
    created = create(auth_client, len(data), engine="local", language="en")
    assert created.status_code == 201 and created["Tus-Resumable"] == "1.0.0"
    location = created["Location"]
    assert "Upload-Expires" in created
    assert head(auth_client, location)["Upload-Offset"] == "0"

    first = patch(auth_client, location, 0, data[:50_000])
    assert first.status_code == 204 and first["Upload-Offset"] == "50000"
    assert "Upload-Expires" in first
    answer = head(auth_client, location)
    assert answer["Upload-Offset"] == "50000" and answer["Upload-Length"] == str(len(data))
    assert answer["Cache-Control"] == "no-store"

    last = patch(auth_client, location, 50_000, data[50_000:])
    assert last.status_code == 204 and last["Upload-Offset"] == str(len(data))
    transcript = Transcript.objects.get(owner=user)
    assert last["Transcript-Location"] == f"/transcripts/{transcript.pk}/"
    assert transcript.options["language"] == "en" and transcript.title == "speech"
    # Written once, where it stays: the media file is the upload's file.
    stored = Path(default_storage.path(transcript.media.file.name))
    assert stored.read_bytes() == data
    assert transcript.media.size == len(data) and transcript.media.format_name == "wav"
    # A client whose last answer was lost asks again and learns it is done.
    again = head(auth_client, location)
    assert again["Upload-Offset"] == str(len(data)) and again["Transcript-Location"] == last["Transcript-Location"]
    state = {"offset": len(data), "length": len(data), "transcript": last["Transcript-Location"]}
    assert auth_client.get(location).json() == state  # outside tus: the same as JSON


@pytest.mark.django_db
def test_a_piece_at_the_wrong_offset_is_a_conflict_that_names_the_right_one(auth_client):
    data = corpus.speech_wav().read_bytes()
    location = create(auth_client, len(data))["Location"]
    patch(auth_client, location, 0, data[:1000])
    response = patch(auth_client, location, 0, data[:1000])
    assert response.status_code == 409 and response["Upload-Offset"] == "1000"
    assert head(auth_client, location)["Upload-Offset"] == "1000"


@pytest.mark.django_db
def test_a_piece_with_the_wrong_content_type_is_refused(auth_client):
    location = create(auth_client, 2000)["Location"]
    response = auth_client.generic(
        "PATCH", location, b"x" * 10, content_type="application/octet-stream", headers={**TUS, "Upload-Offset": "0"}
    )
    assert response.status_code == 415


@pytest.mark.django_db
def test_requests_without_the_protocol_version_are_refused(auth_client):
    response = auth_client.post(TUS_URL, headers={"Upload-Length": "100"})
    assert response.status_code == 412 and response["Tus-Version"] == "1.0.0"


@pytest.mark.django_db
def test_a_piece_past_the_declared_length_is_refused(auth_client):
    location = create(auth_client, 100)["Location"]
    response = patch(auth_client, location, 0, b"x" * 101)
    assert response.status_code == 413
    assert head(auth_client, location)["Upload-Offset"] == "0"


@pytest.mark.django_db
def test_creation_with_upload_takes_the_first_piece_in_the_same_request(auth_client):
    data = corpus.speech_wav().read_bytes()
    headers = {**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": web.tus_metadata(filename="a.wav")}
    response = auth_client.post(TUS_URL, data[:4000], content_type=OFFSET_TYPE, headers=headers)
    assert response.status_code == 201 and response["Upload-Offset"] == "4000"


@pytest.mark.django_db
def test_method_override_lets_a_post_stand_for_patch(auth_client):
    location = create(auth_client, 2000)["Location"]
    response = auth_client.post(
        location,
        b"y" * 500,
        content_type=OFFSET_TYPE,
        headers={**TUS, "Upload-Offset": "0", "X-HTTP-Method-Override": "PATCH"},
    )
    assert response.status_code == 204 and response["Upload-Offset"] == "500"


@pytest.mark.django_db
def test_termination_removes_the_upload_and_its_file(auth_client):
    before = state()
    location = create(auth_client, 5000)["Location"]
    patch(auth_client, location, 0, b"z" * 1000)
    assert auth_client.delete(location, headers=TUS).status_code == 204
    assert head(auth_client, location).status_code == 404
    assert state() == before


@pytest.mark.django_db
def test_someone_elses_upload_answers_404(auth_client, client, other_user):
    location = create(auth_client, 5000)["Location"]
    client.force_login(other_user)
    assert head(client, location).status_code == 404
    assert patch(client, location, 0, b"x").status_code == 404
    assert client.delete(location, headers=TUS).status_code == 404


@pytest.mark.django_db
def test_without_a_session_the_answer_is_401_not_a_login_page(client):
    assert create(client, 100).status_code == 401


@pytest.mark.django_db
def test_unknown_options_in_the_metadata_are_refused_before_anything_is_stored(auth_client):
    before = state()
    response = create(auth_client, 1000, engine="no-such-engine")
    assert response.status_code == 400 and "valid choice" in response.json()["error"]
    assert state() == before


# --- refusals: the same messages, nothing left ----------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_bad_upload_through_the_resumable_path_is_refused_alike_and_leaves_nothing(auth_client, case):
    name, make, message = BAD_UPLOADS[case]
    content = make()
    before = state()
    response = upload_in_pieces(auth_client, content, 40_000, filename=name) if content else create(auth_client, 0)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert message in error and error.endswith(".") and len(error) < 200
    assert state() == before


@pytest.mark.django_db
def test_over_the_size_limit_is_refused_from_the_declared_length(auth_client):
    before = state()
    with override_settings(MAX_UPLOAD_BYTES=10_000):
        response = create(auth_client, 10_001)
    assert response.status_code == 413
    assert response.json()["error"] == "This file is larger than the 10 KB limit."
    assert state() == before


@pytest.mark.django_db
def test_over_the_duration_limit_is_refused_at_the_last_piece(auth_client):
    before = state()
    with override_settings(MAX_MEDIA_SECONDS=2):
        response = upload_in_pieces(auth_client, corpus.silent_wav(5), 60_000, filename="long.wav")
    assert response.status_code == 400 and "the limit is" in response.json()["error"]
    assert state() == before


# --- expiry -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_expired_uploads_answer_404_and_are_swept_with_their_pieces(auth_client):
    before = state()
    location = create(auth_client, 5000)["Location"]
    patch(auth_client, location, 0, b"q" * 1000)
    ResumableUpload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert head(auth_client, location).status_code == 404
    assert patch(auth_client, location, 1000, b"q").status_code == 404
    assert resumable.sweep_expired() == 1
    assert state() == before


@pytest.mark.django_db
def test_the_sweep_keeps_the_file_of_a_finished_upload(auth_client, user):
    upload_in_pieces(auth_client, corpus.speech_wav().read_bytes(), 100_000)
    media = Media.objects.get(owner=user)
    ResumableUpload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert resumable.sweep_expired() == 1
    assert default_storage.exists(media.file.name) and not ResumableUpload.objects.exists()


# --- S3: multipart parts in the bucket ------------------------------------------------------


@pytest.mark.django_db
def test_in_a_bucket_the_pieces_become_one_multipart_object(auth_client, user, s3_server, s3_media, settings):
    settings.UPLOAD_CHUNK_SIZE = 3 * 1024 * 1024  # pieces smaller than a part: tails carry over
    data = corpus.silent_wav(400)  # 12.8 MB: two whole 5 MiB parts and a last one
    settings.S3_PART_SIZE = 5 * 1024 * 1024
    response = upload_in_pieces(auth_client, data, settings.UPLOAD_CHUNK_SIZE, filename="quiet.wav")
    assert response.status_code == 204, response.content
    media = Media.objects.get(owner=user)
    assert s3_server.objects(s3_media) == [media.file.name]
    assert s3_server.unfinished_uploads(s3_media) == []
    stored = s3_server.client().get_object(Bucket=s3_media, Key=media.file.name)
    assert stored["Body"].read() == data
    assert stored["ContentLength"] == len(data) and media.duration == pytest.approx(400, abs=0.1)


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_bad_upload_into_a_bucket_leaves_no_object_and_no_unfinished_upload(auth_client, s3_server, s3_media, case):
    name, make, message = BAD_UPLOADS[case]
    content = make()
    before = state(s3_server, s3_media)
    response = upload_in_pieces(auth_client, content, 30_000, filename=name) if content else create(auth_client, 0)
    assert response.status_code == 400 and message in response.json()["error"]
    assert state(s3_server, s3_media) == before


@pytest.mark.django_db
def test_terminating_or_sweeping_an_upload_in_a_bucket_removes_its_parts(auth_client, s3_server, s3_media):
    before = state(s3_server, s3_media)
    for ending in ("terminate", "sweep"):
        location = create(auth_client, 50_000)["Location"]
        patch(auth_client, location, 0, b"p" * 20_000)
        assert s3_server.unfinished_uploads(s3_media) and s3_server.objects(s3_media)  # the part-in-waiting
        if ending == "terminate":
            auth_client.delete(location, headers=TUS)
        else:
            ResumableUpload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
            resumable.sweep_expired()
        assert state(s3_server, s3_media) == before, ending


# --- quotas ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_resumable_upload_past_the_storage_quota_is_refused_from_its_declared_length(auth_client, user):
    Quota.objects.create(user=user, storage_bytes=100_000)
    before = state()
    response = create(auth_client, 200_000, engine="local")
    assert response.status_code == 403 and "storage in use" in response.json()["error"]
    assert state() == before


@pytest.mark.django_db
def test_a_resumable_upload_past_the_minutes_quota_is_refused_at_the_probe_and_leaves_nothing(auth_client, user):
    Quota.objects.create(user=user, monthly_minutes={"local": 0.05})  # 3 seconds
    before = state()
    response = upload_in_pieces(auth_client, corpus.silent_wav(5), 60_000, filename="long.wav")
    assert response.status_code == 403 and "minutes this month" in response.json()["error"]
    assert state() == before
