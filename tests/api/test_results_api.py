"""The result (canonical JSON with an ETag), edits that need If-Match,
revert, exports with the page's options, share links, search, engines."""

from __future__ import annotations

import io
import json

import pytest
import srt
import webvtt
from pypdf import PdfReader

from tests.api.test_auth import assert_problem
from tests.transcripts.factories import done_transcript, words_from
from transcripts.models import ShareLink, Status, Transcript

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting(user) -> Transcript:
    data = words_from(
        [
            ("speaker_0", "Hello", 0.0, 0.4),
            ("speaker_0", "everyone.", 0.5, 0.9),
            ("speaker_1", "Thanks", 3.0, 3.4),
            ("speaker_1", "for", 3.5, 3.7),
            ("speaker_1", "coming.", 3.8, 4.2),
        ]
    )
    return done_transcript(user, data, title="Standup")


def result_url(transcript) -> str:
    return f"/api/v1/transcripts/{transcript.pk}/result"


def test_the_result_is_the_canonical_json_with_an_etag(api, meeting):
    response = api.get(result_url(meeting))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert data["text"] == "Hello everyone. Thanks for coming." and data["words"][0]["text"] == "Hello"
    etag = response["ETag"]
    assert etag.startswith('"') and len(etag) > 10
    assert api.get(result_url(meeting), HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_an_unfinished_transcript_has_no_result(api, user):
    running = Transcript.objects.create(owner=user, title="R", engine="local", status=Status.TRANSCRIBING)
    body = assert_problem(api.get(result_url(running)), 404, "not_finished")
    assert body["detail"] == "This transcript is not finished."


def edit(api, transcript, etag, **body):
    headers = {"If-Match": etag} if etag else {}
    return api.post(result_url(transcript) + "/edits", body, format="json", headers=headers)


def test_edits_need_the_version_they_were_based_on(api, meeting):
    etag = api.get(result_url(meeting))["ETag"]
    renamed = edit(api, meeting, etag, operation="rename_speaker", speaker_id="speaker_0", name="Ada")
    assert renamed.status_code == 200, renamed.content
    assert {"id": "speaker_0", "name": "Ada"} in renamed.json()["speakers"]
    new_etag = renamed["ETag"]
    assert new_etag != etag and renamed.json()["version"] == new_etag.strip('"')
    # A second editor still holding the old version is refused, not silently merged.
    stale = edit(api, meeting, etag, operation="correct_words", first=0, text="Hi")
    body = assert_problem(stale, 412, "precondition_failed")
    assert "changed since you loaded it" in body["detail"]
    assert_problem(edit(api, meeting, None, operation="correct_words", first=0, text="Hi"), 428)
    fixed = edit(api, meeting, new_etag, operation="correct_words", first=0, text="Hi")
    assert fixed.status_code == 200
    assert json.loads(api.get(result_url(meeting)).content)["text"].startswith("Hi everyone.")


def test_reassigning_a_turn_and_the_html_for_the_page(api, meeting):
    etag = api.get(result_url(meeting))["ETag"]
    response = api.post(
        result_url(meeting) + "/edits?include=html",
        {"operation": "reassign_turn", "first": 4, "last": 8, "speaker_id": "speaker_0"},
        format="json",
        headers={"If-Match": etag},
    )
    assert response.status_code == 200, response.content
    assert "<section" in response.json()["html"]
    words = json.loads(api.get(result_url(meeting)).content)["words"]
    assert {word.get("speaker_id") for word in words if word["type"] == "word"} == {"speaker_0"}


def test_a_bad_edit_gets_the_pages_message(api, meeting):
    etag = api.get(result_url(meeting))["ETag"]
    body = assert_problem(edit(api, meeting, etag, operation="rename_speaker", speaker_id="nobody", name="X"), 400)
    assert body["detail"] == "There is no such speaker in this transcript."
    body = assert_problem(edit(api, meeting, etag, operation="correct_words", text="x"), 400, "validation")
    assert "first" in body["errors"]


def test_revert_restores_the_engines_output(api, meeting):
    etag = api.get(result_url(meeting))["ETag"]
    etag = edit(api, meeting, etag, operation="correct_words", first=0, text="Howdy")["ETag"]
    assert_problem(api.post(result_url(meeting) + "/revert", headers={"If-Match": '"old"'}), 412)
    assert api.post(result_url(meeting) + "/revert", headers={"If-Match": etag}).status_code == 200
    assert json.loads(api.get(result_url(meeting)).content)["text"].startswith("Hello")


def export(api, transcript, fmt, **params):
    return api.get(f"/api/v1/transcripts/{transcript.pk}/export/{fmt}", params, HTTP_ACCEPT="*/*")


def test_every_export_format_parses_back(api, meeting):
    text = export(api, meeting, "txt").content.decode()
    assert "Thanks for coming." in text and "[0:03]" in text
    cues = list(srt.parse(export(api, meeting, "srt").content.decode()))
    assert cues[0].content.endswith("Hello everyone.")
    vtt = webvtt.from_buffer(io.StringIO(export(api, meeting, "vtt").content.decode()))
    assert len(vtt.captions) == len(cues)
    assert json.loads(export(api, meeting, "json").content)["text"].startswith("Hello")
    assert export(api, meeting, "docx").content[:2] == b"PK"
    pdf = PdfReader(io.BytesIO(export(api, meeting, "pdf").content))
    assert "Thanks for coming" in pdf.pages[0].extract_text()
    assert 'filename="Standup.txt"' in export(api, meeting, "txt")["Content-Disposition"]


def test_export_options_are_the_pages(api, meeting):
    plain = export(api, meeting, "txt", speakers="false", timestamps="false").content.decode()
    assert "[0:" not in plain and "Speaker" not in plain and "speaker_" not in plain
    one_cue_per_line = list(srt.parse(export(api, meeting, "srt", max_chars=10, max_lines=1, pause=0).content.decode()))
    assert all(len(line) <= 10 or " " not in line for cue in one_cue_per_line for line in cue.content.splitlines())
    body = assert_problem(export(api, meeting, "srt", max_chars=5), 400, "validation")
    assert body["detail"] == "Characters per line must be between 10 and 200."
    assert_problem(export(api, meeting, "mp3"), 404)


def test_share_links_are_made_listed_and_revoked(api, meeting, client):
    made = api.post(
        f"/api/v1/transcripts/{meeting.pk}/shares", {"label": "Board", "allow_download": True}, format="json"
    )
    assert made.status_code == 201, made.content
    link = made.json()
    assert link["url"].startswith("http://testserver/s/") and link["active"] and link["allow_download"]
    assert client.get(link["url"]).status_code == 200
    listed = api.get(f"/api/v1/transcripts/{meeting.pk}/shares").json()
    assert [item["id"] for item in listed] == [link["id"]] and listed[0]["url"] is None  # shown once
    assert api.delete(f"/api/v1/transcripts/{meeting.pk}/shares/{link['id']}").status_code == 204
    assert client.get(link["url"]).status_code == 404
    assert ShareLink.objects.get(pk=link["id"]).revoked_at is not None


def test_only_a_finished_transcript_is_shared(api, user):
    running = Transcript.objects.create(owner=user, title="R", engine="local", status=Status.QUEUED)
    body = assert_problem(api.post(f"/api/v1/transcripts/{running.pk}/shares", {}, format="json"), 409)
    assert body["detail"] == "Only a finished transcript can be shared."


def test_search_finds_the_passage(api, meeting, user):
    done_transcript(user, words_from([("speaker_0", "Unrelated", 0.0, 0.5)]), title="Other")
    hits = api.get("/api/v1/search", {"q": "thanks for"}).json()
    assert [hit["transcript"]["id"] for hit in hits] == [meeting.pk]
    assert hits[0]["match"] == "Thanks for" and hits[0]["seconds"] == 3.0
    assert_problem(api.get("/api/v1/search"), 400, "validation")


def test_engines_are_listed_with_the_default_first(api):
    engines = api.get("/api/v1/engines").json()
    assert engines[0]["name"] == "local" and engines[0]["default"] and engines[0]["live"]
    assert {engine["name"] for engine in engines} == {"local"}  # no Scribe key in the tests


def test_a_nul_character_in_a_filter_or_query_is_refused_with_a_message(api, auth_client, meeting):
    """Found by schemathesis: Postgres text cannot hold NUL, and the library's
    filters (the page's too) passed it on (500). Now every NUL in a request's
    text is refused with a message (project/input_guard.py)."""
    for response in (
        api.get("/api/v1/transcripts", {"language": "e\x00"}),
        api.get("/api/v1/search", {"q": "thanks\x00"}),
    ):
        assert response.status_code == 400
        assert "NUL characters" in response.json()["detail"]
    page = auth_client.get("/transcripts/", {"q": "a\x00", "language": "\x00"})
    assert page.status_code == 400 and "NUL characters" in page.content.decode()
