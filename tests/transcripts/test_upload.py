"""Uploads: good recordings are accepted and probed; every bad upload gets a
clear message and leaves nothing behind (no row, no stored file, no temp file)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from tests import media_corpus as corpus
from transcripts.models import Media, Transcript, TranscriptResult

UPLOAD_URL = "/transcripts/upload/file/"


def listing(directory: Path) -> set[str]:
    return {str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file()}


def snapshot_state() -> dict:
    return {
        "media": listing(Path(settings.MEDIA_ROOT)),
        "tmp": listing(Path(settings.FILE_UPLOAD_TEMP_DIR)),
        "rows": (Media.objects.count(), Transcript.objects.count(), TranscriptResult.objects.count()),
    }


def post_file(client, name: str, content: bytes):
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post(UPLOAD_URL, {"file": upload, "engine": "local"}, headers={"accept": "application/json"})


def assert_refused(client, name: str, content: bytes, message: str, status: int = 400) -> None:
    before = snapshot_state()
    response = post_file(client, name, content)
    assert response.status_code == status, response.content
    assert message in response.json()["error"]
    assert snapshot_state() == before


BAD_UPLOADS = {
    "empty": ("empty.wav", lambda: b"", "The file is empty."),
    "text as mp3": ("notes.mp3", lambda: b"Meeting notes: buy milk.\n" * 200, "not an audio or video file"),
    "html as wav": (
        "page.wav",
        lambda: b"<!doctype html><html><body><h1>Hi</h1></body></html>\n" * 50,
        "not an audio or video file",
    ),
    "truncated mp4": ("cut.mp4", lambda: corpus.truncated(corpus.speech_in(".mp4")), ""),
    "truncated wav": ("cut.wav", lambda: corpus.truncated(corpus.speech_wav()), "truncated"),
    "png": ("picture.png", corpus.png_bytes, "not an audio or video file"),
    "png as wav": ("picture.wav", corpus.png_bytes, "not an audio or video file"),
    "zip": ("archive.zip", corpus.zip_bytes, "not an audio or video file"),
    "random bytes": ("noise.mp3", corpus.random_bytes, ""),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_bad_upload_is_refused_with_a_message_and_leaves_nothing(auth_client, case):
    name, make, message = BAD_UPLOADS[case]
    before = snapshot_state()
    response = post_file(auth_client, name, make())
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert message in error
    # Whatever the reason, the message is a sentence for a person, not a traceback.
    assert error.endswith(".") and "Traceback" not in error and len(error) < 200
    assert snapshot_state() == before


@pytest.mark.django_db
def test_truncated_files_are_reported_as_unreadable_or_truncated(auth_client):
    for name, content in (
        ("cut.mp4", corpus.truncated(corpus.speech_in(".mp4"))),
        ("cut.wav", corpus.truncated(corpus.speech_wav(), 0.7)),
    ):
        error = post_file(auth_client, name, content).json()["error"]
        assert "truncated" in error or "not an audio or video file" in error or "damaged" in error


@pytest.mark.django_db
def test_upload_over_the_size_limit_is_refused(auth_client):
    with override_settings(MAX_UPLOAD_BYTES=10_000):
        assert_refused(
            auth_client, "speech.wav", corpus.speech_wav().read_bytes(), "larger than the 10 KB limit", status=413
        )


@pytest.mark.django_db
def test_upload_over_the_duration_limit_is_refused(auth_client):
    with override_settings(MAX_MEDIA_SECONDS=2):
        assert_refused(auth_client, "long.wav", corpus.silent_wav(5), "the limit is")


@pytest.mark.django_db
def test_upload_without_a_file_is_refused(auth_client):
    response = auth_client.post(UPLOAD_URL, {"engine": "local"})
    assert response.status_code == 400
    assert response.json()["error"] == "Choose a file to upload."


@pytest.mark.django_db
def test_upload_requires_sign_in(client):
    before = snapshot_state()
    response = post_file(client, "speech.wav", corpus.speech_wav().read_bytes())
    assert response.status_code == 302 and reverse("login") in response["location"]
    assert snapshot_state() == before


GOOD_FILES = {
    "wav": (lambda: corpus.speech_wav(), "wav", False, 22050),
    "mp3": (lambda: corpus.speech_in(".mp3"), "mp3", False, 22050),
    "m4a": (lambda: corpus.speech_in(".m4a"), "mov,mp4,m4a,3gp,3g2,mj2", False, 22050),
    "mp4 with video": (corpus.video_mp4, "mov,mp4,m4a,3gp,3g2,mj2", True, 22050),
    "ogg opus": (lambda: corpus.speech_in(".ogg"), "ogg", False, 48000),
    "flac": (lambda: corpus.speech_in(".flac"), "flac", False, 22050),
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", GOOD_FILES, ids=list(GOOD_FILES))
def test_good_recording_is_accepted_and_probed(auth_client, user, kind):
    make, format_name, has_video, rate = GOOD_FILES[kind]
    path = make()
    response = post_file(auth_client, path.name, path.read_bytes())
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "queued"
    transcript = Transcript.objects.get(pk=job["id"], owner=user)
    media = transcript.media
    assert media.format_name == format_name
    assert media.has_video is has_video
    assert media.channels == 1
    assert media.sample_rate == rate
    assert 3 < media.duration < 8
    assert transcript.duration == media.duration
    assert media.size == path.stat().st_size
    stored = Path(settings.MEDIA_ROOT) / media.file.name
    assert stored.read_bytes() == path.read_bytes()
    assert listing(Path(settings.FILE_UPLOAD_TEMP_DIR)) == set()


HOSTILE_NAMES = {
    "path traversal": "../../etc/passwd.wav",
    "windows traversal": "..\\..\\windows\\system.ini.wav",
    "very long": "a" * 1000 + ".wav",
    "nul byte": "evil\x00name.wav",
    "html": '<script>alert("x")</script><img src=x onerror=alert(1)>.wav',
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", HOSTILE_NAMES, ids=list(HOSTILE_NAMES))
def test_hostile_file_name_is_stored_under_a_server_name_and_shown_safely(auth_client, user, case):
    response = post_file(auth_client, HOSTILE_NAMES[case], corpus.speech_wav().read_bytes())
    assert response.status_code == 201, response.content
    transcript = Transcript.objects.get(pk=response.json()["id"])
    stored = transcript.media.file.name
    # The stored name is ours: the owner's folder and a random hex name.
    parts = stored.split("/")
    assert parts[:2] == ["media", str(user.pk)] and len(parts) == 3
    assert len(parts[2]) == 32 + len(".wav") and parts[2].endswith(".wav")
    assert (Path(settings.MEDIA_ROOT) / stored).resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert not Path("/etc/passwd.wav").exists()
    title = transcript.title
    assert "\x00" not in title and "/" not in title and "\\" not in title
    assert 0 < len(title) <= 255
    for page in (reverse("transcripts:library"), transcript.get_absolute_url()):
        html = auth_client.get(page).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html
    assert listing(Path(settings.FILE_UPLOAD_TEMP_DIR)) == set()


@pytest.mark.django_db
def test_probe_refuses_playlists_that_point_at_other_files(auth_client, tmp_path):
    """An HLS/concat-style text file must not make FFmpeg open other paths."""
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://{corpus.speech_wav()}\n#EXT-X-ENDLIST\n"
    assert_refused(auth_client, "list.m3u8", playlist.encode(), "not an audio or video file")
    concat = f"ffconcat version 1.0\nfile '{corpus.speech_wav()}'\n"
    assert_refused(auth_client, "list.wav", concat.encode(), "not an audio or video file")
    assert os.listdir(settings.FILE_UPLOAD_TEMP_DIR) == []
