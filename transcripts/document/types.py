"""The canonical transcript's shape, for type checkers: the Scribe response
shape (../shared/scribe-api.md §2.3), plus `speaker_names` from edits."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

WordType = Literal["word", "spacing", "audio_event"]


class Character(TypedDict):
    text: str
    start: float | None
    end: float | None


class Word(TypedDict):
    text: str
    start: float | None
    end: float | None
    type: WordType
    speaker_id: NotRequired[str | None]
    logprob: NotRequired[float]
    characters: NotRequired[list[Character] | None]
    channel_index: NotRequired[int | None]


class Transcript(TypedDict):
    language_code: str
    language_probability: float
    text: str
    words: list[Word]
    # Display names given to speaker ids by edits ({"speaker_1": "Dana"}).
    speaker_names: NotRequired[dict[str, str]]
    entities: NotRequired[list[dict]]
