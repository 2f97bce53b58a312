"""A compact copy of a transcript's words, for exports.

Postgres prints a three-hour transcript's `jsonb` (60,000 small objects) and
Python parses it back in several hundred milliseconds; exports need only each
token's type, times, speaker, channel and text. This keeps those as columns
(one JSON array each, which both ends handle at C speed) in the text field
`TranscriptResult.export_cache`, tagged like the page cache
(`transcripts.results`), and rebuilds canonical word dicts from them.
"""

from __future__ import annotations

import json

TYPES = {"word": "w", "spacing": "s", "audio_event": "e"}
NAMES = {code: name for name, code in TYPES.items()}


def dump(data: dict, key: str) -> str:
    words = data.get("words", [])
    columns = {
        "key": key,
        "header": {k: data[k] for k in ("language_code", "language_probability", "speaker_names") if k in data},
        "type": "".join(TYPES.get(word["type"], "w") for word in words),
        "text": [word["text"] for word in words],
        "start": [word.get("start") for word in words],
        "end": [word.get("end") for word in words],
        "speaker": [word.get("speaker_id") for word in words],
        "channel": [word.get("channel_index") for word in words],
    }
    return json.dumps(columns, ensure_ascii=False, separators=(",", ":"))


def load(text: str) -> dict:
    # Absent speaker or channel comes back as None, which every reader treats alike (`word.get(...)`).
    columns = json.loads(text)
    names = [NAMES[code] for code in columns["type"]]
    words = [
        {"text": t, "start": s, "end": e, "type": n, "speaker_id": sp, "channel_index": ch}
        for t, s, e, n, sp, ch in zip(
            columns["text"],
            columns["start"],
            columns["end"],
            names,
            columns["speaker"],
            columns["channel"],
            strict=True,
        )
    ]
    data = dict(columns["header"])
    data["words"] = words
    data["text"] = "".join(columns["text"]).strip()
    return data


def key_of(text: str) -> str:
    # The key is written first, so it can be read without parsing the rest.
    prefix = '{"key":"'
    if not text.startswith(prefix):
        return ""
    return text[len(prefix) : text.index('"', len(prefix))]
