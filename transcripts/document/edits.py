"""Edit operations on a canonical transcript (pure functions: data in, new data out).

Words are addressed by their index in `data["words"]` (the page renders that
index on every word). Saving an edit is `transcripts.results.edit`.
"""

from __future__ import annotations

import copy
import re

from transcripts.document import canonical
from transcripts.document.speakers import new_speaker_id, speaker_ids, speaker_names

MAX_SPEAKER_NAME = 80
MAX_CORRECTION_CHARS = 2000
# A word's punctuation at its edges ("'Hello," -> "'", "Hello", ","): a
# correction edits the letters, and this stays unless new punctuation is typed.
EDGES = re.compile(r"^([^\w]*)(.*?)([^\w]*)$", re.DOTALL)
# Edits may not grow a transcript without limit: past this many tokens (words
# and the spaces between them) per second of audio, nobody was speaking them.
MAX_TOKENS_PER_SECOND = 20
MIN_TOKEN_ALLOWANCE = 2000


class EditError(ValueError):
    """str(self) is a message for the person editing."""


def refresh_text(data: dict) -> dict:
    data["text"] = canonical.join_text(data.get("words", []))
    return data


def rename_speaker(data: dict, speaker_id: str, name: str) -> dict:
    name = " ".join(name.split())
    if not 1 <= len(name) <= MAX_SPEAKER_NAME:
        raise EditError(f"A speaker name needs 1 to {MAX_SPEAKER_NAME} characters.")
    if speaker_id not in speaker_ids(data):
        raise EditError("There is no such speaker in this transcript.")
    edited = dict(data)
    names = speaker_names(data)
    names[speaker_id] = name
    edited["speaker_names"] = names
    return edited


def reassign(data: dict, first: int, last: int, speaker_id: str | None) -> dict:
    """Give words first..last (a turn, or part of one) to another speaker;
    `speaker_id=None` makes a new speaker."""
    words = _checked_range(data, first, last)
    if speaker_id is None:
        speaker_id = new_speaker_id(data)
    elif speaker_id not in speaker_ids(data) and speaker_id not in speaker_names(data):
        raise EditError("There is no such speaker in this transcript.")
    edited = dict(data)
    edited["words"] = (
        words[:first] + [{**word, "speaker_id": speaker_id} for word in words[first : last + 1]] + words[last + 1 :]
    )
    return edited


def correct_words(data: dict, first: int, last: int, text: str) -> dict:
    """Replace the text of words first..last.

    With as many new words as old ones each word keeps its own timing; a
    different count shares the old span among the new words by length. Words
    outside the range are never touched, so their timings survive."""
    words = _checked_range(data, first, last)
    if len(text) > MAX_CORRECTION_CHARS:
        raise EditError(f"A correction is at most {MAX_CORRECTION_CHARS} characters; this one has {len(text)}.")
    old = words[first : last + 1]
    old_tokens = [word for word in old if word["type"] != "spacing"]
    if not old_tokens:
        raise EditError("Choose a word to correct.")
    new_texts = _with_old_punctuation(text.split(), old_tokens)
    if not new_texts:
        replacement, first, last = [], *_with_one_spacing(words, first, last)
    elif len(new_texts) == len(old_tokens):
        texts = iter(new_texts)
        replacement = [word if word["type"] == "spacing" else _retext(word, next(texts)) for word in old]
    else:
        replacement = _spread(new_texts, old_tokens[0], old_tokens[-1]["end"])
    edited = dict(data)
    edited["words"] = words[:first] + replacement + words[last + 1 :]
    return refresh_text(edited)


def _with_old_punctuation(texts: list[str], old_tokens: list[dict]) -> list[str]:
    """The old words' leading punctuation goes before the first new word and
    their trailing punctuation after the last, where none was typed there."""
    if not texts or old_tokens[0]["type"] == "audio_event":
        return texts
    lead = EDGES.match(old_tokens[0]["text"]).group(1)  # type: ignore[union-attr]
    trail = EDGES.match(old_tokens[-1]["text"]).group(3)  # type: ignore[union-attr]
    texts = list(texts)
    if lead and not EDGES.match(texts[0]).group(1):  # type: ignore[union-attr]
        texts[0] = lead + texts[0]
    if trail and not EDGES.match(texts[-1]).group(3):  # type: ignore[union-attr]
        texts[-1] += trail
    return texts


def token_allowance(duration: float | None) -> int:
    """The most tokens an edit may leave in a transcript of `duration` seconds."""
    return max(MIN_TOKEN_ALLOWANCE, int((duration or 0) * MAX_TOKENS_PER_SECOND))


def check_growth(before: dict, after: dict, allowance: int) -> None:
    """Refuse an edit that grows the transcript past `allowance` tokens (one
    that does not grow it always passes: the engine's output may be longer)."""
    grown = len(after.get("words", []))
    if grown > len(before.get("words", [])) and grown > allowance:
        raise EditError(
            f"This edit would make the transcript longer than a recording of its length can hold "
            f"({allowance} words and spaces). Shorten the correction or remove other added text first."
        )


def revert(original: dict) -> dict:
    return refresh_text(copy.deepcopy(original))


def _checked_range(data: dict, first: int, last: int) -> list[dict]:
    words = data.get("words", [])
    if not (0 <= first <= last < len(words)):
        raise EditError("Those words are not in this transcript (reload the page).")
    return words


def _retext(word: dict, text: str) -> dict:
    if word["text"] == text:
        return word
    changed = {key: value for key, value in word.items() if key != "characters"}
    changed["text"] = text
    changed["type"] = "audio_event" if canonical.AUDIO_EVENT.match(text) else "word"
    return changed


def _spread(texts: list[str], template: dict, end: float | None) -> list[dict]:
    start = template.get("start") or 0.0
    end = end if end is not None else start
    total = sum(len(text) for text in texts)
    extra = {key: template[key] for key in ("speaker_id", "channel_index") if key in template}
    tokens, cursor = [], start
    for text in texts:
        length = (end - start) * len(text) / total
        tokens.append(
            {
                "text": text,
                "start": round(cursor, 3),
                "end": round(cursor + length, 3),
                "type": "audio_event" if canonical.AUDIO_EVENT.match(text) else "word",
                "logprob": 0.0,
                **extra,
            }
        )
        cursor += length
    tokens[-1]["end"] = end
    return canonical.with_spacing(tokens)


def _with_one_spacing(words: list[dict], first: int, last: int) -> tuple[int, int]:
    """Deleting words also deletes one neighbouring space, so no double space is left."""
    if last + 1 < len(words) and words[last + 1]["type"] == "spacing":
        return first, last + 1
    if first > 0 and words[first - 1]["type"] == "spacing":
        return first - 1, last
    return first, last
