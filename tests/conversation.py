"""A generated conversation with known ground truth, for speaker
identification: two or three distinct espeak-ng voices taking turns of a
few seconds, and the scores a diarization is judged by (diarization error
rate, speaker-attributed word error rate). Used by the tests and bench/."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.support import GENERATED, word_error_rate

RATE = 16000
GAP_SECONDS = 0.4
# Distinct voices: accent, variant (timbre) and pitch all differ.
VOICES = {
    "alice": ("en-us+f3", 70),
    "bob": ("en-gb-scotland+m3", 25),
    "carol": ("en-gb+f4", 55),
}
SCRIPT = [
    ("alice", "Good morning everyone, thank you for joining the planning call today."),
    ("bob", "Happy to be here. I have the numbers from the warehouse ready to share."),
    ("carol", "Before we start, can we agree to finish within half an hour?"),
    ("alice", "Yes, let us keep it short. Bob, please tell us about the warehouse."),
    ("bob", "The new shelves arrived on Monday and the team installed them quickly."),
    ("carol", "That is good news. Did the delivery trucks arrive on time as well?"),
    ("bob", "Most of them did, but two were late because of the storm."),
    ("alice", "We should ask the transport company for a better schedule next month."),
    ("carol", "I will write to them this afternoon and copy both of you."),
    ("alice", "Thank you Carol. Let us meet again next week at the same time."),
]


@dataclass(frozen=True)
class Turn:
    speaker: str
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Conversation:
    path: Path
    turns: list[Turn]

    @property
    def duration(self) -> float:
        return self.turns[-1].end + GAP_SECONDS

    @property
    def speakers(self) -> list[str]:
        return list(dict.fromkeys(turn.speaker for turn in self.turns))


def voice_audio(speaker: str, text: str) -> np.ndarray:
    voice, pitch = VOICES[speaker]
    result = subprocess.run(
        ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", "155", "--stdout", text], check=True, capture_output=True
    )
    with wave.open(_wav_file(result.stdout)) as wav:
        rate = wav.getframerate()
        audio = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32)
    resampled = np.interp(np.arange(0, len(audio), rate / RATE), np.arange(len(audio)), audio)
    return _trimmed(resampled.astype(np.int16))


def _wav_file(data: bytes):
    import io

    return io.BytesIO(data)


def _trimmed(audio: np.ndarray, threshold: int = 200) -> np.ndarray:
    """Without espeak's leading and trailing silence, so the turns' times are the speech's."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return audio[loud[0] : loud[-1] + 1] if len(loud) else audio


def conversation(speakers: int = 3, turns: int = len(SCRIPT)) -> Conversation:
    """The script's first `turns` turns among its first `speakers` voices
    (with two, Carol's lines go to Alice), cached by content."""
    names = list(VOICES)[:speakers]
    script = [(speaker if speaker in names else names[0], text) for speaker, text in SCRIPT[:turns]]
    key = hashlib.sha256(repr((script, VOICES, GAP_SECONDS)).encode()).hexdigest()[:16]
    GENERATED.mkdir(parents=True, exist_ok=True)
    target = GENERATED / f"conversation-{key}.wav"
    pieces, found, position = [], [], GAP_SECONDS
    gap = np.zeros(int(GAP_SECONDS * RATE), dtype=np.int16)
    pieces.append(gap)
    for speaker, text in script:
        audio = voice_audio(speaker, text)
        found.append(Turn(speaker, round(position, 3), round(position + len(audio) / RATE, 3), text))
        pieces += [audio, gap]
        position += (len(audio) + len(gap)) / RATE
    if not target.exists():
        partial = GENERATED / f"partial-{os.getpid()}-{key}.wav"
        with wave.open(str(partial), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(np.concatenate(pieces).tobytes())
        os.replace(partial, target)
    return Conversation(target, found)


# --- scores ---------------------------------------------------------------------------

FRAME = 0.01


def _frames(spans: list[tuple[float, float, str]], length: int) -> list[str | None]:
    labels: list[str | None] = [None] * length
    for start, end, speaker in spans:
        for index in range(int(start / FRAME), min(int(end / FRAME), length)):
            labels[index] = speaker
    return labels


def best_mapping(reference: list[str | None], hypothesis: list[str | None]) -> dict[str, str]:
    """Hypothesis speakers to reference speakers, the pairing that agrees on most frames."""
    ours = sorted({label for label in hypothesis if label})
    theirs = sorted({label for label in reference if label})
    best: dict[str, str] = {}
    best_score = -1
    padded = theirs + [f"extra-{index}" for index in range(max(0, len(ours) - len(theirs)))]
    for chosen in itertools.permutations(padded, len(ours)):
        mapping = dict(zip(ours, chosen, strict=True))
        score = sum(1 for r, h in zip(reference, hypothesis, strict=True) if h and mapping[h] == r)
        if score > best_score:
            best, best_score = mapping, score
    return best


def transcript_spans(transcript: dict) -> list[tuple[float, float, str]]:
    """The speaker turns a reader sees (canonical.turns: built from the words)."""
    from transcripts.document import canonical

    return [(turn.start, turn.end, turn.speaker_id or "") for turn in canonical.turns(transcript)]


def diarization_error_rate(truth: list[Turn], spans: list[tuple[float, float, str]]) -> tuple[float, dict[str, str]]:
    """Frame-level DER over the reference speech (missed speech, false alarm
    and confusion, no forgiveness collar), with the hypothesis's speakers
    paired to the reference's the way that agrees most."""
    length = int((max(truth[-1].end, max((end for _, end, _ in spans), default=0)) + 1) / FRAME)
    reference = _frames([(t.start, t.end, t.speaker) for t in truth], length)
    hypothesis = _frames(spans, length)
    mapping = best_mapping(reference, hypothesis)
    speech = sum(1 for label in reference if label)
    errors = 0
    for r, h in zip(reference, hypothesis, strict=True):
        mapped = mapping.get(h) if h else None
        if r != mapped and (r or mapped):
            errors += 1
    return errors / max(speech, 1), mapping


def speaker_attributed_wer(truth: list[Turn], words: list[dict], mapping: dict[str, str]) -> float:
    """Each reference speaker's words against the words given to that speaker
    (mapped as for the DER): a word given to the wrong person counts as wrong."""
    errors = total = 0.0
    for speaker in dict.fromkeys(turn.speaker for turn in truth):
        reference = " ".join(turn.text for turn in truth if turn.speaker == speaker)
        said = " ".join(w["text"] for w in words if w["type"] == "word" and mapping.get(w["speaker_id"]) == speaker)
        count = len(reference.split())
        errors += word_error_rate(reference, said) * count
        total += count
    return errors / max(total, 1)
