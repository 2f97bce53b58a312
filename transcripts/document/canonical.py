"""Helpers for the canonical transcript shape (the Scribe response shape):

{"language_code", "language_probability", "text", "words": [
    {"text", "start", "end", "type": "word"|"spacing"|"audio_event",
     "speaker_id", "logprob", "channel_index"?, "characters"?}]}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

AUDIO_EVENT = re.compile(r"^[\[(][^\])]{1,40}[\])]$")
# A word ending a sentence (closing quotes and brackets may follow the mark).
SENTENCE_END = re.compile(r"[.?!…。？！][\"'”’)\]]*$")
# Silence within one channel that ends an utterance.
UTTERANCE_PAUSE_SECONDS = 1.0


def spacing(start: float, end: float, **extra) -> dict:
    return {"text": " ", "start": start, "end": end, "type": "spacing", "logprob": 0.0, **extra}


def join_text(words: list[dict]) -> str:
    return "".join(word["text"] for word in words).strip()


def build(words: list[dict], *, language_code: str, language_probability: float = 1.0) -> dict:
    for word in words:  # engines occasionally report an end before the start
        if word.get("start") is not None and word.get("end") is not None and word["end"] < word["start"]:
            word["end"] = word["start"]
    return {
        "language_code": language_code,
        "language_probability": language_probability,
        "text": join_text(words),
        "words": words,
    }


def with_spacing(tokens: list[dict]) -> list[dict]:
    """Insert `spacing` items between consecutive word/event tokens."""
    words: list[dict] = []
    for token in tokens:
        if words:
            previous = words[-1]
            extra = {k: previous[k] for k in ("speaker_id", "channel_index") if k in previous}
            start, end = previous["end"], token["start"]
            if start is not None and end is not None and end < start:
                end = start  # overlapping speech: the gap is empty, never negative
            words.append(spacing(start, end, **extra))
        words.append(token)
    return words


def merge_channels(transcripts: list[dict]) -> dict:
    """Combine per-channel transcripts into one conversation: each channel's
    words are grouped into utterances, and utterances are ordered by start.
    (Ordering words by time interleaved overlapping speakers word by word.)
    Every export reads this order, so all of them follow the same utterances."""
    groups: list[list[dict]] = []
    for transcript in transcripts:
        tokens = sorted((w for w in transcript["words"] if w["type"] != "spacing"), key=_start)
        groups.extend(utterances(tokens))
    groups.sort(key=lambda group: (_start(group[0]), group[0].get("channel_index") or 0))
    language = next((t["language_code"] for t in transcripts if t.get("language_code")), "")
    return build(with_spacing([word for group in groups for word in group]), language_code=language)


def utterances(tokens: list[dict]) -> list[list[dict]]:
    """One speaker's tokens (in time order) cut at pauses and sentence ends."""
    groups: list[list[dict]] = []
    for token in tokens:
        if groups:
            previous = groups[-1][-1]
            pause = _start(token) - (previous.get("end") or _start(previous))
            if pause < UTTERANCE_PAUSE_SECONDS and not SENTENCE_END.search(previous["text"].strip()):
                groups[-1].append(token)
                continue
        groups.append([token])
    return groups


def _start(word: dict) -> float:
    return word.get("start") or 0.0


@dataclass
class Turn:
    speaker_id: str | None
    channel_index: int | None
    start: float
    end: float
    words: list[dict] = field(default_factory=list)

    @property
    def text(self) -> str:
        return join_text(self.words)


def turns(transcript: dict) -> list[Turn]:
    """Group words into speaker turns: a new turn starts when the speaker or
    channel changes."""
    result: list[Turn] = []
    for word in transcript.get("words", []):
        key = (word.get("speaker_id"), word.get("channel_index"))
        if word["type"] != "spacing" and (not result or key != (result[-1].speaker_id, result[-1].channel_index)):
            result.append(Turn(key[0], key[1], word.get("start") or 0.0, word.get("end") or 0.0))
        if not result:
            continue
        if word["type"] == "spacing" and not result[-1].words:
            continue
        result[-1].words.append(word)
        if word.get("end") is not None and word["type"] != "spacing":
            result[-1].end = word["end"]
    for turn in result:
        while turn.words and turn.words[-1]["type"] == "spacing":
            turn.words.pop()
    return result
