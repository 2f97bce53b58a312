"""Media in an S3 bucket (moto's server on loopback): objects are private;
playback is ranged and streamed through the app, so a share page's media
stops with its link; a local job reads the object in ranges with no copy on
disk; Scribe is given a short-lived presigned source_url and fetches it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from tests import media_corpus as corpus
from tests import web
from tests.fakes.scribe import FakeScribe
from tests.transcripts.test_upload import listing
from transcripts import services, sharing
from transcripts.document import canonical
from transcripts.engines import EngineResult, TranscriptionOptions
from transcripts.jobs.runner import finish
from transcripts.models import Status, Transcript


def stored_upload(user, s3_server, bucket: str, data: bytes, name: str = "speech.wav") -> Transcript:
    key = f"media/{user.pk}/{hashlib.sha256(data).hexdigest()[:16]}.wav"
    s3_server.client().put_object(Bucket=bucket, Key=key, Body=data)
    return services.create_stored_upload(
        user, key, size=len(data), original_name=name, engine="local", options=TranscriptionOptions()
    )


@pytest.mark.django_db
def test_media_in_a_bucket_is_private_and_played_in_ranges_through_the_app(auth_client, user, s3_server, s3_media):
    data = corpus.speech_wav().read_bytes()
    transcript = stored_upload(user, s3_server, s3_media, data)
    key = transcript.media.file.name
    assert httpx.get(f"{s3_server.endpoint}/{s3_media}/{key}").status_code == 403  # private object

    response = auth_client.get(f"/transcripts/{transcript.pk}/media/", headers={"range": "bytes=1000-1999"})
    assert response.status_code == 206 and response["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    assert b"".join(response.streaming_content) == data[1000:2000]
    whole = auth_client.get(f"/transcripts/{transcript.pk}/media/")
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == data


@pytest.mark.django_db
def test_a_share_page_never_gets_a_link_to_the_bucket_and_stops_at_revoke(client, user, s3_server, s3_media):
    transcript = stored_upload(user, s3_server, s3_media, corpus.speech_wav().read_bytes())
    Transcript.objects.filter(pk=transcript.pk).update(status=Status.TRANSCRIBING)
    finish(transcript.pk, EngineResult(transcript=canonical.build([], language_code="en")))
    link, token = sharing.create_link(transcript, allow_audio=True)
    page = client.get(f"/s/{token}/")
    assert page.status_code == 200
    assert s3_server.endpoint.encode() not in page.content and b"X-Amz-Signature" not in page.content
    media = client.get(f"/s/{token}/media/", headers={"range": "bytes=0-99"})
    assert media.status_code == 206 and "Location" not in media
    assert len(b"".join(media.streaming_content)) == 100
    link.revoke()
    assert client.get(f"/s/{token}/media/", headers={"range": "bytes=0-99"}).status_code == 404


@pytest.mark.slow
def test_a_local_job_reads_its_media_from_the_bucket_without_a_copy(make_site, s3_server, s3_bucket, tmp_path):
    site = make_site(**s3_server.env(s3_bucket))
    user = get_user_model().objects.create_user("sam", "sam@example.com", "a long and unusual passphrase")
    before = listing(Path(settings.DATA_DIR))
    with web.signed_in(site.base_url, web.session_cookie(user)) as http:
        pk = web.tus_upload(http, corpus.speech_wav(), piece=64 * 1024)
    transcript = web.wait_for_status(pk, "done", "failed")
    assert transcript.status == "done", transcript.error
    assert "lazy dog" in transcript.result.text.lower()
    assert s3_server.objects(s3_bucket) == [transcript.media.file.name]
    # Neither the web process nor the worker kept a copy of the media on disk.
    created = {name for name in listing(Path(settings.DATA_DIR)) - before if not name.endswith(".log")}
    assert not [name for name in created if name.startswith(("media/", "tmp/"))], created


@pytest.mark.slow
@pytest.mark.parametrize("allow_http", [True, False], ids=["presigned source_url", "bytes (https only)"])
def test_scribe_is_given_a_presigned_source_url_to_fetch(make_site, s3_server, s3_bucket, allow_http):
    with FakeScribe() as fake:
        site = make_site(
            ELEVENLABS_API_KEY=fake.api_key,
            ELEVENLABS_BASE_URL=fake.base_url,
            SCRIBE_MEDIA_URLS_ALLOW_HTTP=str(allow_http).lower(),
            **s3_server.env(s3_bucket),
        )
        user = get_user_model().objects.create_user("sam", "sam@example.com", "a long and unusual passphrase")
        recording = corpus.speech_wav()
        with web.signed_in(site.base_url, web.session_cookie(user)) as http:
            pk = web.tus_upload(http, recording, engine="scribe")
        transcript = web.wait_for_status(pk, "done", "failed")
        assert transcript.status == "done", transcript.error
        (request,) = fake.stt_requests()
        if allow_http:
            assert request.fields("file") == []
            (url,) = request.fields("source_url")
            assert url.startswith(s3_server.endpoint) and "X-Amz-Expires=900" in url
            digest = hashlib.sha256(recording.read_bytes()).hexdigest()
            assert fake.fetched == [(url, 200, recording.stat().st_size, digest)]
        else:
            assert request.fields("source_url") == [] and fake.fetched == []
            assert request.fields("file")[0]["size"] == recording.stat().st_size
