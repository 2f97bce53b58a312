"""Speakers of a canonical transcript: their ids in order of appearance and
the names people read. Names are a display map, `data["speaker_names"]`
(`{"speaker_1": "Dana"}`), so renaming is one change that shows everywhere
while the ids the engine gave stay stable for reassigning turns and undo."""

from __future__ import annotations

import re

ENGINE_ID = re.compile(r"^speaker_(\d+)$")


def speaker_names(data: dict) -> dict[str, str]:
    return dict(data.get("speaker_names") or {})


def speaker_label(data: dict, speaker_id: str | None) -> str:
    """The name given, else "Speaker N" counted from one (engines say `speaker_0`)."""
    if speaker_id is None:
        return "Speaker"
    named = (data.get("speaker_names") or {}).get(speaker_id)
    if named:
        return named
    number = ENGINE_ID.match(speaker_id)
    return f"Speaker {int(number.group(1)) + 1}" if number else speaker_id


def labels_shown(data: dict) -> bool:
    """Whether turns carry a speaker label by default: when there is more than
    one speaker or channel to tell apart, or someone named a speaker. One
    speaker that nobody named (no diarization) is left unlabelled."""
    if speaker_names(data):
        return True
    seen: set = set()
    for word in data.get("words", []):
        if word["type"] != "spacing":
            seen.add((word.get("speaker_id"), word.get("channel_index")))
            if len(seen) > 1:
                return True
    return False


def speaker_ids(data: dict) -> list[str]:
    """Speakers in order of first appearance."""
    seen: dict[str, None] = {}
    for word in data.get("words", []):
        speaker = word.get("speaker_id")
        if speaker is not None and word["type"] != "spacing":
            seen.setdefault(speaker, None)
    return list(seen)


def speaker_list(data: dict) -> list[dict]:
    return [{"id": speaker, "name": speaker_label(data, speaker)} for speaker in speaker_ids(data)]


def new_speaker_id(data: dict) -> str:
    taken = set(speaker_ids(data)) | set(speaker_names(data))
    number = len(taken)
    while f"speaker_{number}" in taken:
        number += 1
    return f"speaker_{number}"
