"""Offline speaker identification (the speakers extra, which `make test`
installs): on a generated conversation with known turns, the local engine
finds the speakers, given their number or not, and gives each word to the
person who said it. The scores (DER, speaker-attributed WER) and speed are
in bench/speakers.py; here they are held to bounds."""

from __future__ import annotations

import pytest

from tests.conversation import (
    Conversation,
    conversation,
    diarization_error_rate,
    speaker_attributed_wer,
    transcript_spans,
)
from tests.support import word_error_rate
from transcripts.engines import EngineJob, TranscriptionOptions, speakers
from transcripts.engines.local import LocalEngine


def transcribe(recording: Conversation, **options) -> dict:
    job = EngineJob(
        transcript_id=0,
        media_path=str(recording.path),
        media_name="",
        duration=recording.duration,
        channels=1,
        options=TranscriptionOptions(**options),
    )
    return LocalEngine().transcribe(job).transcript


def words_of(transcript: dict) -> list[dict]:
    return [word for word in transcript["words"] if word["type"] == "word"]


def test_the_speakers_extra_is_installed_where_the_tests_run():
    assert speakers.installed(), "`make test` installs requirements-speakers.txt (make .venv/.speakers)"


@pytest.fixture(scope="module")
def three_voices() -> Conversation:
    return conversation(speakers=3)


@pytest.mark.parametrize(("voices", "given"), [(3, True), (2, False)], ids=["three-given", "two-estimated"])
def test_the_local_engine_tells_the_speakers_apart(voices, given):
    recording = conversation(speakers=voices)
    transcript = transcribe(recording, diarize=True, num_speakers=voices if given else None)
    words = words_of(transcript)
    assert len({word["speaker_id"] for word in words}) == voices
    der, mapping = diarization_error_rate(recording.turns, transcript_spans(transcript))
    plain = word_error_rate(" ".join(turn.text for turn in recording.turns), " ".join(w["text"] for w in words))
    attributed = speaker_attributed_wer(recording.turns, words, mapping)
    assert der < 0.2, der
    # Words given to the wrong person would make this worse than the plain WER.
    assert attributed <= plain + 0.05, (attributed, plain)
    # The reader meets speaker_0 first.
    assert words[0]["speaker_id"] == "speaker_0"


def test_without_identification_everyone_is_one_speaker(three_voices):
    transcript = transcribe(three_voices)
    assert {word["speaker_id"] for word in words_of(transcript)} == {"speaker_0"}


def word(start: float, end: float) -> dict:
    return {"text": "w", "type": "word", "start": start, "end": end, "speaker_id": "speaker_0"}


def test_words_go_to_the_speaker_whose_turn_overlaps_them_most():
    turns = [speakers.Turn(0.0, 2.0, "speaker_0"), speakers.Turn(2.0, 5.0, "speaker_1")]
    sentences = [[word(0.0, 0.5), word(0.6, 1.9)], [word(1.8, 2.6), word(2.7, 4.0), word(4.2, 5.0)]]
    speakers.assign(sentences, turns)
    assert [w["speaker_id"] for w in sentences[0]] == ["speaker_0", "speaker_0"]
    assert [w["speaker_id"] for w in sentences[1]] == ["speaker_1"] * 3


def test_a_word_between_turns_goes_to_the_nearest_and_a_short_stray_run_to_the_sentence():
    turns = [speakers.Turn(0.0, 1.0, "speaker_0"), speakers.Turn(3.0, 6.0, "speaker_1")]
    gap_word = [[word(1.2, 1.4)]]
    speakers.assign(gap_word, turns)
    assert gap_word[0][0]["speaker_id"] == "speaker_0"
    # The sentence's first half-second fell in the previous speaker's turn.
    sentence = [[word(0.5, 0.9), word(3.0, 4.0), word(4.1, 5.5)]]
    speakers.assign(sentence, turns)
    assert [w["speaker_id"] for w in sentence[0]] == ["speaker_1"] * 3
