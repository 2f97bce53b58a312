"""Labels people read: "Speaker 1", "Speaker 2" (or the names given), no
label at all for a lone undiarized speaker, one language code standard, and
word corrections that keep the word's punctuation."""

from __future__ import annotations

import re

import pytest
import srt

from tests.transcripts.factories import done_transcript, words_from
from transcripts import exports
from transcripts.document import edits as editing
from transcripts.document.speakers import speaker_label
from transcripts.engines.base import EngineResult
from transcripts.exports.subtitles import CueOptions
from transcripts.jobs import runner
from transcripts.languages import normalise_language
from transcripts.models import Status, Transcript


def transcript_body(page: str) -> str:
    """The text people read in the transcript's turns (not the tools around them)."""
    return re.sub(r"<[^>]+>", " ", page[page.index('<section class="turn"') : page.rindex("</section>")])


@pytest.fixture
def two_speakers() -> dict:
    return words_from(
        [
            ("speaker_0", "Good", 0.5, 0.8),
            ("speaker_0", "morning.", 0.85, 1.3),
            ("speaker_1", "Thanks", 3.0, 3.4),
            ("speaker_1", "Dana.", 3.45, 3.8),
        ]
    )


@pytest.fixture
def one_speaker() -> dict:
    return words_from(
        [("speaker_0", "Just", 0.5, 0.8), ("speaker_0", "me", 0.85, 1.1), ("speaker_0", "here.", 1.2, 1.5)]
    )


def test_speakers_are_numbered_from_one_for_people():
    assert speaker_label({}, "speaker_0") == "Speaker 1"
    assert speaker_label({}, "speaker_1") == "Speaker 2"
    assert speaker_label({"speaker_names": {"speaker_1": "Dana"}}, "speaker_1") == "Dana"


def test_several_speakers_are_labelled_in_txt_and_subtitles(two_speakers):
    text = exports.to_txt(two_speakers).decode()
    assert "Speaker 1 [0:00]\nGood morning." in text and "Speaker 2 [0:03]\nThanks Dana." in text
    assert "speaker_" not in text
    cues = list(srt.parse(exports.to_srt(two_speakers).decode()))
    assert cues[0].content.startswith("Speaker 1: Good") and cues[1].content.startswith("Speaker 2: Thanks")


def test_one_undiarized_speaker_has_no_label_anywhere(one_speaker, auth_client, user):
    text = exports.to_txt(one_speaker).decode()
    assert text == "[0:00]\nJust me here.\n"
    (cue,) = srt.parse(exports.to_srt(one_speaker).decode())
    assert cue.content == "Just me here."
    transcript = done_transcript(user, one_speaker)
    body = transcript_body(auth_client.get(f"/transcripts/{transcript.pk}/").content.decode())
    assert "Just" in body and "speaker_0" not in body and "Speaker 1" not in body
    # The export option still adds it when asked.
    always = exports.to_txt(one_speaker, exports.TextOptions(speakers=True)).decode()
    assert always.startswith("Speaker 1 [0:00]")
    (cue,) = srt.parse(exports.to_srt(one_speaker, CueOptions(speaker_labels=True)).decode())
    assert cue.content.startswith("Speaker 1:")
    download = auth_client.get(f"/transcripts/{transcript.pk}/export/txt/", {"options": "1", "speakers": "always"})
    assert download.content.decode().startswith("Speaker 1")


def test_the_page_names_several_speakers_for_people(two_speakers, auth_client, user):
    transcript = done_transcript(user, two_speakers)
    body = transcript_body(auth_client.get(f"/transcripts/{transcript.pk}/").content.decode())
    assert "Speaker 1" in body and "Speaker 2" in body
    assert "speaker_0" not in body


@pytest.mark.parametrize(
    "reported, stored",
    [
        ("eng", "en"),
        ("en", "en"),
        ("EN", "en"),
        ("fra", "fr"),
        ("zho", "zh"),
        ("cmn", "zh"),
        ("pt-BR", "pt-BR"),
        ("", ""),
    ],
)
def test_language_codes_are_normalised_to_one_form(reported, stored):
    assert normalise_language(reported) == stored


@pytest.mark.django_db
def test_a_finished_job_stores_the_normalised_language(user):
    transcript = Transcript.objects.create(owner=user, title="t", engine="scribe", status=Status.TRANSCRIBING)
    data = words_from([("speaker_0", "Bonjour.", 0, 0.5)])
    data["language_code"] = "fra"
    assert runner.finish(transcript.pk, EngineResult(transcript=data))
    transcript.refresh_from_db()
    assert transcript.language_code == "fr" and transcript.result.data["language_code"] == "fr"


@pytest.mark.parametrize(
    "old, typed, expected",
    [
        ("times.", "time", "time."),
        ("'Hello,", "Goodbye", "'Goodbye,"),
        ("ever?", "never!", "never!"),  # punctuation typed on purpose wins
        ("plain", "word", "word"),
    ],
)
def test_correcting_a_word_keeps_its_punctuation(old, typed, expected):
    data = words_from([("speaker_0", "It", 0, 0.2), ("speaker_0", old, 0.3, 0.6)])
    edited = editing.correct_words(data, 2, 2, typed)
    assert edited["words"][2]["text"] == expected
    assert edited["text"] == f"It {expected}"


def test_correcting_a_word_into_two_keeps_the_punctuation_at_the_edges():
    data = words_from([("speaker_0", "It", 0, 0.2), ("speaker_0", "wasbest.", 0.3, 0.9)])
    edited = editing.correct_words(data, 2, 2, "was best")
    assert edited["text"] == "It was best."
