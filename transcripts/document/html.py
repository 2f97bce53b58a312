"""The transcript body as HTML, built with string joins.

A three-hour transcript has ~60,000 tokens; a template loop over them takes
most of a second, string joins a few tens of milliseconds. Each word is a
`<span data-i=INDEX data-s=START>` (index into `data["words"]`, for edits;
start time, for the player); spacing is plain text, so the page reads and
copies normally without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass

from transcripts.document.speakers import labels_shown, speaker_label, speaker_list
from transcripts.formatting import clock

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def _escape(text: str) -> str:
    return text.translate(_ESCAPES)


def render_turns(data: dict) -> str:
    """One pass over the words, grouping them into turns exactly as
    `canonical.turns` does (a turn starts when the speaker or channel of a
    word changes; spaces at a turn's edges are dropped)."""
    parts: list[str] = []
    append = parts.append
    labels: dict = {}
    labelled = labels_shown(data)
    turn_key: tuple | None = None
    pending_space = ""
    first_index = last_index = 0
    header_at = -1  # position in parts of the open turn's header, patched with its last index
    for index, word in enumerate(data.get("words", [])):
        kind = word["type"]
        if kind == "spacing":
            if turn_key is not None:
                pending_space += word["text"]
            continue
        key = (word.get("speaker_id"), word.get("channel_index"))
        start = word.get("start") or 0.0
        if key != turn_key:
            if turn_key is not None:
                parts[header_at] = parts[header_at].replace('data-last=""', f'data-last="{last_index}"', 1)
                append("</p></section>")
            turn_key, pending_space, first_index = key, "", index
            if key[0] not in labels:
                labels[key[0]] = _escape(speaker_label(data, key[0])) if labelled else ""
            header_at = len(parts)
            append(_turn_header(key, labels[key[0]], first_index, start))
        elif pending_space:
            append(_escape(pending_space))
            pending_space = ""
        last_index = index
        css = ' class="event"' if kind == "audio_event" else (_FILLED if word.get("filled") else "")
        append(f'<span{css} data-i="{index}" data-s="{start:.2f}">{_escape(word["text"])}</span>')
    if turn_key is not None:
        parts[header_at] = parts[header_at].replace('data-last=""', f'data-last="{last_index}"', 1)
        append("</p></section>")
    return "".join(parts)


def _turn_header(key: tuple, label: str, first: int, start: float) -> str:
    speaker, channel = key
    channel_label = f' <span class="channel">channel {channel + 1}</span>' if channel is not None and label else ""
    name = f'<b class="speaker">{label}</b>' if label else _UNLABELLED
    return (
        f'<section class="turn" data-first="{first}" data-last="" data-speaker="{_escape(speaker or "")}">'
        f'<header>{name}{channel_label} <a class="at" href="?t={int(start)}" '
        f'data-s="{start:.2f}">{clock(start)}</a></header><p>'
    )


@dataclass(frozen=True)
class Body:
    html: str
    speakers: list[dict]
    has_words: bool


# Speaker names are <b> in the stored body; the owner's page turns them into
# buttons (to reassign the turn), the share page keeps them as text.
_SPEAKER_OPEN = '<b class="speaker">'
# A live session's word that the live captions missed and a batch pass over
# the recording filled in afterwards (realtime/gaps.py).
_FILLED = ' class="filled" title="Not in the live captions: transcribed from the recording afterwards"'
_SPEAKER_BUTTON = '<button type="button" class="speaker" data-role="reassign" title="Change the speaker of this turn">'
# A lone unnamed speaker has no label; the owner still gets a way to split turns off.
_UNLABELLED = '<i class="speaker unlabelled"></i>'
_UNLABELLED_BUTTON = (
    '<button type="button" class="speaker unlabelled" data-role="reassign" '
    'title="Give this turn to a speaker">Set speaker</button>'
)


def page_cache(data: dict, key: str) -> dict:
    """What `TranscriptResult.page_cache` holds for `data`, tagged with `key`
    (see transcripts.results)."""
    return {
        "key": key,
        "html": render_turns(data),
        "speakers": speaker_list(data),
        "has_words": bool(data.get("words")),
    }


def as_body(cache: dict, *, editable: bool) -> Body:
    html = cache["html"]
    if editable:
        html = html.replace(_SPEAKER_OPEN, _SPEAKER_BUTTON).replace("</b>", "</button>")
        html = html.replace(_UNLABELLED, _UNLABELLED_BUTTON)
    return Body(html, cache["speakers"], cache["has_words"])
