"""Text from people, made safe: NUL characters are refused with a message
(Postgres cannot store them: they were 500s), subtitle cue text is escaped
for its format, and edits cannot grow a transcript without limit."""

from __future__ import annotations

import html
import io
import json

import pytest
import srt
import webvtt

from tests.transcripts.factories import done_transcript, sentence_data, words_from
from transcripts import exports, results
from transcripts.document import edits
from transcripts.models import Transcript, TranscriptResult

NUL_MESSAGE = "may not contain NUL characters"


@pytest.fixture
def transcript(user):
    return done_transcript(user, sentence_data("we met on tuesday to talk about the budget"))


def refused_with_message(response, *, api: bool = False) -> None:
    assert response.status_code == 400, response.content
    if api:
        assert response["Content-Type"] == "application/problem+json"
        assert NUL_MESSAGE in response.json()["detail"]
    else:
        assert NUL_MESSAGE in response.content.decode()


@pytest.mark.django_db
def test_nul_in_page_forms_and_search_is_refused(auth_client, transcript):
    base = f"/transcripts/{transcript.pk}"
    json_accept = {"accept": "application/json"}
    refused_with_message(auth_client.post(f"{base}/rename/", {"title": "bad\x00title"}))
    refused_with_message(
        auth_client.post(f"{base}/edit/speaker/", {"speaker_id": "speaker_0", "name": "Ann\x00"}, headers=json_accept)
    )
    refused_with_message(
        auth_client.post(f"{base}/edit/words/", {"first": "0", "text": "fixed\x00word"}, headers=json_accept)
    )
    refused_with_message(auth_client.get("/transcripts/", {"q": "budget\x00"}))
    refused_with_message(auth_client.post(f"{base}/shares/", {"label": "team\x00"}))
    refused_with_message(auth_client.get("/s/abc\x00def/"))
    transcript.refresh_from_db()
    assert "\x00" not in transcript.title
    assert "\x00" not in json.dumps(TranscriptResult.objects.get(transcript=transcript).data)


@pytest.mark.django_db
def test_nul_in_sign_up_is_refused(client):
    response = client.post(
        "/accounts/signup/", {"username": "ann\x00", "email": "a@example.com", "password1": "x", "password2": "x"}
    )
    assert response.status_code == 400
    assert NUL_MESSAGE in response.content.decode()


HOSTILE_WORDS = ["a<b", "&amp;", "-->", "<i>x</i>", "two\n\nlines", "end-->start", "x\r\ny"]


def hostile_data() -> dict:
    spec: list[tuple[str | None, str, float, float]] = [
        ("speaker_0", text, 0.5 + index, 0.9 + index) for index, text in enumerate(HOSTILE_WORDS)
    ]
    return words_from(spec)


def test_vtt_cue_text_is_escaped_and_parses_back():
    content = exports.to_vtt(hostile_data()).decode()
    body = content.split("\n\n", 1)[1]
    cue_text = [line for line in body.splitlines() if line and "-->" not in line or line.count("-->") > 1]
    assert all("<" not in line and "-->" not in line for line in cue_text), content
    assert "a&lt;b" in content and "&amp;amp;" in content and "--&gt;" in content
    captions = list(webvtt.from_buffer(io.StringIO(content)))
    text = html.unescape(" ".join(caption.text for caption in captions))
    for word in ("a<b", "&amp;", "<i>x</i>", "end-->start"):
        assert word in text.replace("\n", " "), text
    assert "two lines" in text.replace("\n", " ")


def test_srt_cue_text_has_no_blank_line_or_timing_arrow():
    content = exports.to_srt(hostile_data()).decode()
    subtitles = list(srt.parse(content))
    assert all("\n\n" not in subtitle.content and "-->" not in subtitle.content for subtitle in subtitles)
    joined = " ".join(subtitle.content.replace("\n", " ") for subtitle in subtitles)
    assert "two lines" in joined and "x y" in joined and "a<b" in joined
    assert len(subtitles) == len(list(srt.parse(srt.compose(subtitles))))


@pytest.mark.django_db
def test_a_correction_past_the_size_limit_is_refused_with_its_numbers(auth_client, transcript):
    text = "word " * 500
    response = auth_client.post(
        f"/transcripts/{transcript.pk}/edit/words/",
        {"first": "0", "text": text},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 400
    assert f"at most {edits.MAX_CORRECTION_CHARS} characters; this one has {len(text)}" in response.json()["error"]


@pytest.mark.django_db
def test_edits_cannot_grow_a_transcript_without_limit(user):
    transcript = done_transcript(user, sentence_data("short note"))
    allowance = edits.token_allowance(transcript.duration)
    long_correction = " ".join(["more"] * 390)  # under the per-edit limit
    with pytest.raises(edits.EditError, match="longer than a recording of its length can hold"):
        for _ in range(allowance):
            words = TranscriptResult.objects.get(transcript=transcript).data["words"]
            last = len(words) - 1
            results.edit(transcript.pk, lambda data, last=last: edits.correct_words(data, last, last, long_correction))
    assert len(TranscriptResult.objects.get(transcript=transcript).data["words"]) <= allowance
    # Edits that do not grow it still work, and so does undoing everything.
    results.edit(transcript.pk, lambda data: edits.rename_speaker(data, "speaker_0", "Ann"))
    results.revert(transcript.pk)
    assert Transcript.objects.get(pk=transcript.pk).status == "done"
