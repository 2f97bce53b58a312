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
