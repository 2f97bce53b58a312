"""Exports, parsed back with independent libraries."""

from __future__ import annotations

import io
import json

import docx
import pypdf
import pytest
import srt
import webvtt

from tests.transcripts.factories import done_transcript, long_data, words_from
from transcripts import exports
from transcripts.document import edits as editing
from transcripts.exports.subtitles import CueOptions, build_cues


@pytest.fixture
def meeting() -> dict:
    spec = [
        ("speaker_0", "Good", 0.5, 0.8),
        ("speaker_0", "morning", 0.85, 1.3),
        ("speaker_0", "everyone.", 1.35, 1.9),
        ("speaker_0", "(laughter)", 2.0, 2.6),
        ("speaker_1", "Thanks", 5.0, 5.4),
        ("speaker_1", "Dana,", 5.45, 5.8),
        ("speaker_1", "let's", 5.9, 6.1),
        ("speaker_1", "start", 6.15, 6.5),
        ("speaker_1", "with", 6.55, 6.7),
        ("speaker_1", "the", 6.75, 6.85),
        ("speaker_1", "budget.", 6.9, 7.5),
    ]
    return words_from(spec)


def vtt_captions(content: bytes):
    return list(webvtt.from_buffer(io.StringIO(content.decode())))


def test_txt_has_speakers_and_timestamps_by_choice(meeting):
    text = exports.to_txt(meeting).decode()
    assert "Speaker 1 [0:00]\nGood morning everyone. (laughter)" in text
    assert "Speaker 2 [0:05]\nThanks Dana, let's start with the budget." in text
    bare = exports.to_txt(meeting, exports.TextOptions(speakers=False, timestamps=False)).decode()
    assert bare == "Good morning everyone. (laughter)\n\nThanks Dana, let's start with the budget.\n"


def test_srt_parses_back_with_speaker_labels_at_changes(meeting):
    subtitles = list(srt.parse(exports.to_srt(meeting).decode()))
    assert [s.index for s in subtitles] == list(range(1, len(subtitles) + 1))
    assert subtitles[0].content.startswith("Speaker 1: Good morning")
    assert any(s.content.startswith("Speaker 2: Thanks") for s in subtitles)
    assert subtitles[0].start.total_seconds() == pytest.approx(0.5)
    assert subtitles[-1].end.total_seconds() == pytest.approx(7.5)


def test_vtt_parses_back_and_matches_srt_timing(meeting):
    captions = vtt_captions(exports.to_vtt(meeting))
    subtitles = list(srt.parse(exports.to_srt(meeting).decode()))
    assert [c.text for c in captions] == [s.content for s in subtitles]
    assert [c.start_in_seconds for c in captions] == [int(s.start.total_seconds()) for s in subtitles]


@pytest.mark.parametrize("max_chars,max_lines,max_duration", [(42, 2, 7.0), (20, 1, 3.0), (32, 3, 5.0)])
def test_long_transcript_cues_respect_line_length_lines_and_duration(max_chars, max_lines, max_duration):
    data = long_data(words=3000)
    options = CueOptions(max_chars=max_chars, max_lines=max_lines, max_duration=max_duration)
    subtitles = list(srt.parse(exports.to_srt(data, options).decode()))
    assert len(subtitles) > 100
    for subtitle in subtitles:
        lines = subtitle.content.split("\n")
        assert len(lines) <= max_lines
        assert all(len(line) <= max_chars for line in lines), lines
        assert (subtitle.end - subtitle.start).total_seconds() <= max_duration + 1e-6
        assert subtitle.end > subtitle.start
    starts = [s.start for s in subtitles]
    assert starts == sorted(starts)
    # Every word is in the subtitles, in order.
    spoken = " ".join(w["text"] for w in data["words"] if w["type"] != "spacing")
    shown = " ".join(
        line.split(": ", 1)[-1] if line.startswith("Speaker ") else line
        for s in subtitles
        for line in s.content.split("\n")
    )
    assert shown == spoken


def test_cues_break_at_pauses_and_speaker_changes(meeting):
    cues = build_cues(meeting, CueOptions(pause=1.5))
    # 2.6 s -> 5.0 s is a pause and a new speaker; the first speaker's words stay together.
    assert cues[0].lines == ["Speaker 1: Good morning everyone.", "(laughter)"]
    assert cues[1].speaker == "Speaker 2"
    no_split = build_cues(meeting, CueOptions(pause=0, split_speakers=False, max_duration=60, max_chars=200))
    assert len(no_split) == 1


def test_a_pause_alone_starts_a_new_cue():
    data = words_from([("speaker_0", "one", 0, 0.3), ("speaker_0", "two", 0.4, 0.6), ("speaker_0", "three", 3.0, 3.3)])
    assert [c.lines for c in build_cues(data, CueOptions(pause=1.0, speaker_labels=False))] == [["one two"], ["three"]]
    assert [c.lines for c in build_cues(data, CueOptions(pause=0, speaker_labels=False))] == [["one two three"]]


def test_json_is_the_canonical_shape_with_edits(meeting):
    edited = editing.rename_speaker(meeting, "speaker_1", "Sam")
    edited = editing.correct_words(edited, 0, 0, "Hello")
    parsed = json.loads(exports.to_json(edited))
    assert set(parsed) >= {"language_code", "language_probability", "text", "words"}
    assert parsed["speaker_names"] == {"speaker_1": "Sam"}
    assert parsed["text"].startswith("Hello morning")
    assert {w["type"] for w in parsed["words"]} == {"word", "spacing", "audio_event"}


def test_docx_has_title_turns_and_timestamps(meeting):
    document = docx.Document(io.BytesIO(exports.to_docx(meeting, "Weekly <sync> & plan")))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "Weekly <sync> & plan"
    assert paragraphs[1:] == [
        "Speaker 1 [0:00]",
        "Good morning everyone. (laughter)",
        "Speaker 2 [0:05]",
        "Thanks Dana, let's start with the budget.",
    ]
    assert document.paragraphs[1].runs[0].bold


def test_pdf_has_title_turns_and_timestamps(meeting):
    reader = pypdf.PdfReader(io.BytesIO(exports.to_pdf(meeting, "Weekly (sync)")))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert reader.metadata.title == "Weekly (sync)"
    for expected in (
        "Weekly (sync)",
        "Speaker 1 [0:00]",
        "Good morning everyone. (laughter)",
        "Speaker 2 [0:05]",
        "let's start with the budget.",
    ):
        assert expected in text


def test_pdf_of_a_long_transcript_spans_pages_and_keeps_every_word():
    data = long_data(words=6000)
    reader = pypdf.PdfReader(io.BytesIO(exports.to_pdf(data, "Long")))
    assert len(reader.pages) > 5
    text = " ".join(page.extract_text() for page in reader.pages).split()
    assert len([w for w in text if not w.startswith(("speaker_", "["))]) >= 6000 - 5


def test_pdf_with_text_beyond_latin1_uses_a_unicode_font():
    data = words_from([("speaker_0", "Привет", 0, 0.5), ("speaker_0", "мир", 0.6, 1.0)])
    reader = pypdf.PdfReader(io.BytesIO(exports.to_pdf(data, "Встреча")))
    assert "Привет мир" in reader.pages[0].extract_text()


def test_edits_show_in_every_export(meeting):
    edited = editing.rename_speaker(meeting, "speaker_0", "Dana")
    edited = editing.correct_words(edited, 2, 2, "folks.")
    for fmt in exports.FORMATS:
        content = exports.export(edited, fmt, title="T").content
        if fmt == "docx":
            content = "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs).encode()
        elif fmt == "pdf":
            content = pypdf.PdfReader(io.BytesIO(content)).pages[0].extract_text().encode()
        assert b"folks." in content, fmt
        assert b"Dana" in content, fmt


# --- over HTTP ---------------------------------------------------------------


@pytest.mark.django_db
def test_export_download_uses_options_and_names_the_file(auth_client, user, meeting):
    transcript = done_transcript(user, meeting, title="Board call")
    response = auth_client.get(
        f"/transcripts/{transcript.pk}/export/srt/",
        {"options": "1", "max_chars": "20", "max_lines": "1", "speakers": "1"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-subrip")
    assert 'filename="Board call.srt"' in response["Content-Disposition"]
    for subtitle in srt.parse(response.content.decode()):
        assert "\n" not in subtitle.content and len(subtitle.content) <= 20
    plain = auth_client.get(f"/transcripts/{transcript.pk}/export/txt/", {"options": "1"})
    assert plain.content.decode().startswith("Good morning")
    assert auth_client.get(f"/transcripts/{transcript.pk}/export/exe/").status_code == 404
    assert auth_client.get(f"/transcripts/{transcript.pk}/export/srt/", {"max_chars": "3"}).status_code == 400


def test_compact_copy_round_trips_what_exports_read(meeting):
    from transcripts.document import compact

    data = editing.rename_speaker(meeting, "speaker_1", 'Sam "Tab\t" \\ Lee')
    data["words"][0]["channel_index"] = 0
    back = compact.load(compact.dump(data, "2026-01-01T00:00:00+00:00"))
    fields = ("text", "start", "end", "type", "speaker_id", "channel_index")
    assert [[w.get(f) for f in fields] for w in back["words"]] == [[w.get(f) for f in fields] for w in data["words"]]
    assert back["speaker_names"] == data["speaker_names"] and back["text"] == data["text"]
    for fmt in ("txt", "srt", "vtt", "docx"):
        assert exports.export(back, fmt, title="T").content == exports.export(data, fmt, title="T").content


@pytest.mark.django_db
def test_exports_follow_edits_through_the_compact_copy(auth_client, user, meeting):
    transcript = done_transcript(user, meeting)
    url = f"/transcripts/{transcript.pk}/export/txt/"
    assert b"Good morning" in auth_client.get(url).content
    auth_client.post(f"/transcripts/{transcript.pk}/edit/words/", {"first": 0, "last": 0, "text": "Bad"})
    assert b"Bad morning" in auth_client.get(url).content
    from transcripts.models import TranscriptResult

    result = TranscriptResult.objects.get(transcript=transcript)
    result.data = editing.correct_words(result.data, 0, 0, "Fine")
    result.save()  # another writer: `updated` moves, so the compact copy is not used
    assert b"Fine morning" in auth_client.get(url).content


@pytest.mark.django_db
def test_json_download_is_the_full_canonical_data_on_any_database(auth_client, user, meeting, monkeypatch):
    from django.db import connection

    transcript = done_transcript(user, meeting)
    url = f"/transcripts/{transcript.pk}/export/json/"
    auth_client.get(f"/transcripts/{transcript.pk}/export/txt/")  # builds the compact copy
    assert json.loads(auth_client.get(url).content) == meeting
    monkeypatch.setattr(connection, "vendor", "sqlite")
    assert json.loads(auth_client.get(url).content) == meeting
