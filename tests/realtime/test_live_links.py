"""Live viewer links die with their data: deleting a transcript removes its
live session, segments and links; viewers see the transcript as it is now
(edited, redacted), never the captions as first committed; links expire,
are listed where the owner shares the transcript, and revoke at once."""

from __future__ import annotations

import pytest

from realtime import services
from realtime.models import LiveLink, LiveSegment, LiveSession
from transcripts import services as transcript_services

pytestmark = pytest.mark.django_db


def ended_session_with_link(user, text: str = "the secret plan"):
    session = services.start_session(user, engine="local")
    services.append_segment(session.pk, 0, text, None, 0, 2)
    new = services.create_link(session)
    transcript = services.end_session(session.pk)
    return transcript, new


def test_deleting_a_transcript_deletes_its_live_session_segments_and_links(client, user):
    transcript, new = ended_session_with_link(user)
    assert client.get(f"/live/view/{new.token}/").status_code == 200
    client.force_login(user)
    assert client.post(f"/transcripts/{transcript.pk}/delete/").status_code == 302
    assert LiveSession.objects.count() == LiveSegment.objects.count() == LiveLink.objects.count() == 0
    client.logout()
    assert client.get(f"/live/view/{new.token}/").status_code == 404


def test_deleting_through_the_service_also_removes_the_live_session(user):
    transcript, _ = ended_session_with_link(user)
    transcript_services.delete(transcript)
    assert not LiveSession.objects.exists() and not LiveSegment.objects.exists()


def test_the_viewer_page_and_the_api_show_the_edited_text(client, user):
    transcript, new = ended_session_with_link(user)
    client.force_login(user)
    index = next(i for i, w in enumerate(transcript.result.data["words"]) if w["text"] == "secret")
    edit = client.post(f"/transcripts/{transcript.pk}/edit/words/", {"first": index, "last": index, "text": "[gone]"})
    assert edit.status_code == 302
    session = LiveSession.objects.get()
    api = client.get(f"/api/v1/live/sessions/{session.uuid}").json()
    assert api["text"] == "the [gone] plan"
    client.logout()
    page = client.get(f"/live/view/{new.token}/").content.decode()
    assert "[gone]" in page and "secret" not in page


def test_a_live_link_expires_by_default_after_the_configured_lifetime(client, user, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.LIVE_LINK_HOURS = 6
    session = services.start_session(user, engine="local")
    client.force_login(user)
    made = client.post(f"/live/{session.uuid}/links/")
    assert made.status_code == 201
    expires = LiveLink.objects.get().expires_at
    assert expires is not None and abs(expires - (timezone.now() + timedelta(hours=6))) < timedelta(minutes=1)
    api = client.post(f"/api/v1/live/sessions/{session.uuid}/links", {}, content_type="application/json")
    assert api.status_code == 201 and api.json()["expires_at"] is not None
    chosen = client.post(f"/live/{session.uuid}/links/", {"expires": "7d"})
    assert chosen.status_code == 201
    assert LiveLink.objects.get(pk=chosen.json()["id"]).expires_at > timezone.now() + timedelta(days=6)


def test_the_sharing_page_lists_the_live_links_with_revoke(client, user, other_user):
    transcript, new = ended_session_with_link(user)
    link = LiveLink.objects.get()
    client.force_login(user)
    page = client.get(f"/transcripts/{transcript.pk}/shares/").content.decode()
    assert 'id="live-links"' in page and f'data-live-link-id="{link.pk}"' in page and new.token not in page
    revoke = f"/live/links/{link.pk}/revoke/"
    assert revoke in page
    client.force_login(other_user)
    assert client.post(revoke).status_code == 404
    client.force_login(user)
    answer = client.post(revoke, {"next": f"/transcripts/{transcript.pk}/shares/"})
    assert answer.status_code == 302 and answer["Location"] == f"/transcripts/{transcript.pk}/shares/"
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert "revoked" in client.get(f"/transcripts/{transcript.pk}/shares/").content.decode()
    client.logout()
    assert client.get(f"/live/view/{new.token}/").status_code == 404


def test_the_live_page_lists_the_links_still_usable_with_revoke(client, user, other_user):
    session = services.start_session(user, engine="local")
    usable = services.create_link(session).link
    revoked = services.create_link(session).link
    revoked.revoke()
    services.create_link(services.start_session(other_user, engine="local"))
    client.force_login(user)
    page = client.get("/live/").content.decode()
    assert 'id="live-links"' in page
    assert f'data-live-link-id="{usable.pk}"' in page and f'data-live-link-id="{revoked.pk}"' not in page
    assert page.count("data-live-link-id=") == 1 and f"/live/links/{usable.pk}/revoke/" in page
