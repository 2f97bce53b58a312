"""Share links: entropy and hashing, options, revocation and expiry, and
nothing of another user's reachable through any URL."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.transcripts.factories import done_transcript, sentence_data, stored_media
from transcripts import sharing
from transcripts.models import ShareLink, Status
from transcripts.tokens import hash_token


@pytest.fixture
def transcript(user, speech):
    media = stored_media(user, speech("Hello there, this is a shared meeting."))
    return done_transcript(
        user, sentence_data("hello there this is a shared meeting"), title="Secret plans", media=media
    )


@pytest.fixture
def anonymous() -> Client:
    return Client()


def share_url(token: str) -> str:
    return reverse("share", args=[token])


@pytest.mark.django_db
def test_token_has_at_least_128_bits_and_only_its_hash_is_stored(transcript):
    tokens = set()
    for _ in range(20):
        link, token = sharing.create_link(transcript)
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) * 8 >= 128
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
        assert link.token_hash == hash_token(token) and token not in link.token_hash
        tokens.add(token)
    assert len(tokens) == 20
    stored = list(ShareLink.objects.values_list("token_hash", "label"))
    assert all(token not in str(stored) for token in tokens)


@pytest.mark.django_db
def test_shared_page_is_read_only_noindex_and_shows_nothing_else(anonymous, transcript, user):
    _, token = sharing.create_link(transcript, allow_audio=True, allow_download=False)
    response = anonymous.get(share_url(token))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Secret plans" in page
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert user.username not in page and user.email not in page
    assert "/transcripts/" not in page  # no links into the owner's account
    assert "data-editable" not in page and "csrfmiddlewaretoken" not in page
    assert 'id="player"' in page and share_url(token) + "media/" in page
    assert "/export/" not in page


@pytest.mark.django_db
def test_shared_page_reads_without_javascript(anonymous, transcript):
    _, token = sharing.create_link(transcript)
    page = anonymous.get(share_url(token)).content.decode()
    text = re.sub(r"<[^>]+>", "", page.split('id="transcript"', 1)[1])
    assert "hello there this is a shared meeting" in text


@pytest.mark.django_db
def test_audio_and_downloads_follow_the_links_options(anonymous, transcript):
    _, quiet = sharing.create_link(transcript, allow_audio=False, allow_download=False)
    assert 'id="player"' not in anonymous.get(share_url(quiet)).content.decode()
    assert anonymous.get(share_url(quiet) + "media/").status_code == 404
    assert anonymous.get(share_url(quiet) + "export/txt/").status_code == 404
    _, open_link = sharing.create_link(transcript, allow_audio=True, allow_download=True)
    media = anonymous.get(share_url(open_link) + "media/", HTTP_RANGE="bytes=0-99")
    assert media.status_code == 206 and len(b"".join(media.streaming_content)) == 100
    export = anonymous.get(share_url(open_link) + "export/txt/")
    assert export.status_code == 200 and b"hello there" in export.content
    assert "export/pdf/" in anonymous.get(share_url(open_link)).content.decode()


@pytest.mark.django_db
def test_revoked_link_answers_404_at_once_everywhere(auth_client, anonymous, transcript):
    _, token = sharing.create_link(transcript, allow_audio=True, allow_download=True)
    assert anonymous.get(share_url(token)).status_code == 200
    link = ShareLink.objects.get()
    response = auth_client.post(reverse("transcripts:revoke_share", args=[transcript.pk, link.pk]))
    assert response.status_code == 302
    for suffix in ("", "media/", "export/txt/"):
        assert anonymous.get(share_url(token) + suffix).status_code == 404
    assert "revoked" in auth_client.get(reverse("transcripts:shares", args=[transcript.pk])).content.decode()


@pytest.mark.django_db
def test_expired_unknown_and_revoked_look_the_same(anonymous, transcript):
    link, expired = sharing.create_link(transcript, expires_in_days=1)
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    link, revoked = sharing.create_link(transcript)
    link.revoke()
    answers = [anonymous.get(share_url(token)) for token in (expired, revoked, "x" * 43, "nope")]
    assert {r.status_code for r in answers} == {404}
    assert len({r.content for r in answers}) == 1


@pytest.mark.django_db
def test_future_expiry_still_works_and_is_listed(auth_client, anonymous, transcript):
    response = auth_client.post(
        reverse("transcripts:shares", args=[transcript.pk]),
        {"expires_in_days": "7", "allow_audio": "on", "label": "team"},
    )
    url = re.search(r'id="new-share-url" value="([^"]+)"', response.content.decode()).group(1)
    link = ShareLink.objects.get()
    assert link.expires_at > timezone.now() + timedelta(days=6) and link.label == "team"
    assert anonymous.get(url).status_code == 200
    listing = auth_client.get(reverse("transcripts:shares", args=[transcript.pk])).content.decode()
    assert "team" in listing and url not in listing  # shown once only


@pytest.mark.django_db
def test_transcript_that_is_no_longer_done_is_not_shared(anonymous, transcript):
    _, token = sharing.create_link(transcript)
    transcript.__class__.objects.filter(pk=transcript.pk).update(status=Status.QUEUED)
    assert anonymous.get(share_url(token)).status_code == 404


@pytest.mark.django_db
def test_edits_show_on_the_shared_page(auth_client, anonymous, transcript):
    _, token = sharing.create_link(transcript)
    auth_client.post(f"/transcripts/{transcript.pk}/edit/speaker/", {"speaker_id": "speaker_0", "name": "Dana"})
    assert "Dana" in anonymous.get(share_url(token)).content.decode()


@pytest.mark.django_db
def test_no_url_gives_another_user_anything(client, other_user, transcript):
    link, _ = sharing.create_link(transcript)
    client.force_login(other_user)
    pk = transcript.pk
    for url in [
        f"/transcripts/{pk}/",
        f"/transcripts/{pk}/media/",
        f"/transcripts/{pk}/export/txt/",
        f"/transcripts/{pk}/shares/",
        f"/transcripts/{pk}/status/",
    ]:
        assert client.get(url).status_code == 404, url
    for url, fields in [
        (f"/transcripts/{pk}/edit/speaker/", {"speaker_id": "speaker_0", "name": "X"}),
        (f"/transcripts/{pk}/edit/turn/", {"first": 0, "last": 0, "speaker_id": "speaker_0"}),
        (f"/transcripts/{pk}/edit/words/", {"first": 0, "last": 0, "text": "X"}),
        (f"/transcripts/{pk}/edit/revert/", {}),
        (f"/transcripts/{pk}/shares/", {"allow_audio": "on"}),
        (f"/transcripts/{pk}/shares/{link.pk}/revoke/", {}),
    ]:
        assert client.post(url, fields).status_code == 404, url
    link.refresh_from_db()
    assert link.revoked_at is None and ShareLink.objects.count() == 1


@pytest.mark.django_db
def test_a_link_cannot_be_revoked_through_another_transcript(auth_client, user, transcript):
    mine = done_transcript(user, sentence_data("another one"))
    link, token = sharing.create_link(transcript)
    response = auth_client.post(reverse("transcripts:revoke_share", args=[mine.pk, link.pk]))
    assert response.status_code == 404
    assert sharing.resolve(token) is not None


@pytest.mark.django_db
def test_share_page_needs_no_login_but_owner_pages_do(anonymous, transcript):
    _, token = sharing.create_link(transcript)
    assert anonymous.get(share_url(token)).status_code == 200
    assert anonymous.get(reverse("transcripts:shares", args=[transcript.pk])).status_code == 302


@pytest.mark.django_db
def test_creating_a_link_needs_csrf(user, transcript):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("transcripts:shares", args=[transcript.pk]), {"allow_audio": "on"}).status_code == 403
    link, _ = sharing.create_link(transcript)
    assert client.post(reverse("transcripts:revoke_share", args=[transcript.pk, link.pk])).status_code == 403
    assert sharing.links_for(transcript).usable().count() == 1
