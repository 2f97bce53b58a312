"""Parts of a live session's recording that got no live text, and filling
them from the recording with a batch pass.

A gap is known when the relay ends (the speech service never committed the
last stretch, fell too far behind, or failed) or when recovery saves a
session whose server died (everything after `transcribed_until`). The
session is saved with its gaps, which make it incomplete; then
`fill_gaps` cuts each gap out of the recording, runs the session's engine
over it as a batch job, and merges the words into the transcript by time,
marked `"filled": true`, keeping the live text as it was.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from realtime.models import LiveSession
from realtime.recording import HEADER_BYTES, wav_header
from transcripts import results
from transcripts.engines.base import EngineJob, EngineResult, TranscriptionOptions
from transcripts.engines.registry import get_engine
from transcripts.media.pcm import BYTES_PER_SECOND
from transcripts.media.storage import local_path, open_media, read_range
from transcripts.models import Media

log = logging.getLogger(__name__)

MIN_GAP_SECONDS = 1.0  # shorter stretches without text are pauses, not lost speech
# A gap is cut with this much of the recording either side, so a word the
# live text ends or starts in the middle of is heard whole.
MARGIN_SECONDS = 0.5


def gap(start: float, end: float) -> dict | None:
    """The gap between `start` and `end` (session seconds), if it is one."""
    if end - start < MIN_GAP_SECONDS:
        return None
    return {"start": round(start, 3), "end": round(end, 3), "filled": False}


def added(gaps: list[dict], new: dict | None) -> list[dict]:
    """`gaps` with `new` merged in (overlapping gaps become one)."""
    merged: list[dict] = []
    for item in sorted([*gaps, *([new] if new else [])], key=lambda g: g["start"]):
        if merged and item["start"] <= merged[-1]["end"] and not (merged[-1]["filled"] or item["filled"]):
            merged[-1]["end"] = max(merged[-1]["end"], item["end"])
        else:
            merged.append(dict(item))
    return merged


def merged(gaps: list[dict], new: Sequence[dict | None]) -> list[dict]:
    for item in new:
        gaps = added(gaps, item)
    return gaps


def describe(gaps: list[dict]) -> str:
    return ", ".join(f"{clock(g['start'])} to {clock(g['end'])}" for g in gaps)


def clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def incomplete_message(gaps: list[dict]) -> str:
    return (
        f"Part of this session ({describe(gaps)}) has no live captions. It was saved as incomplete, and that part "
        "is being transcribed from the recording now; the transcript marks the words filled in that way."
    )


# --- filling ------------------------------------------------------------------------


def fill_gaps(session_id: int) -> int:
    """Transcribe every unfilled gap of an ended session from its recording
    and merge the words into its transcript; returns the words added."""
    session = LiveSession.objects.select_related("transcript__media").filter(pk=session_id).first()
    if session is None or session.transcript is None or session.transcript.media is None:
        return 0
    transcript, media = session.transcript, session.transcript.media
    total = 0
    for index, item in enumerate(session.gaps):
        if item.get("filled"):
            continue
        words = transcribe_gap(session, transcript.pk, media, item)
        results.add_words(transcript.pk, words)
        session.gaps[index] = {**item, "filled": True, "words": len(words)}
        LiveSession.objects.filter(pk=session.pk).update(gaps=session.gaps)
        total += len(words)
    return total


def transcribe_gap(session: LiveSession, transcript_id: int, media: Media, item: dict) -> list[dict]:
    """The words in the recording between the gap's start and end, by the
    session's engine, in session seconds."""
    start = max(item["start"] - MARGIN_SECONDS, 0.0)
    first = int(start * BYTES_PER_SECOND) // 2 * 2
    last = int(math.ceil((item["end"] + MARGIN_SECONDS) * BYTES_PER_SECOND / 2)) * 2
    last = min(last, max(media.size - HEADER_BYTES, 0))
    source = str(media.file.name)
    pcm = b"".join(read_range(source, HEADER_BYTES + first, last - first))
    name = default_storage.save(f"{source[:-4]}-gap-{first}.wav", ContentFile(wav_header(len(pcm)) + pcm))
    try:
        job = EngineJob(
            transcript_id=transcript_id,
            media_path=local_path(name),
            media_name=name,
            duration=len(pcm) / BYTES_PER_SECOND,
            channels=1,
            options=TranscriptionOptions(language=session.language or None),
            open_media=lambda: open_media(name),
        )
        result = get_engine(session.engine).transcribe(job)
    finally:
        default_storage.delete(name)
    if not isinstance(result, EngineResult):
        raise RuntimeError("The engine answered a gap by webhook; gaps need an answer at once.")
    offset = first / BYTES_PER_SECOND
    return [filled(word, offset) for word in result.transcript.get("words", []) if in_gap(word, offset, item)]


def in_gap(word: dict, offset: float, item: dict) -> bool:
    """A word of the cut that lies in the gap (at least half of it): the
    margins are context, their words are the live text's."""
    if word.get("type") == "spacing" or word.get("start") is None:
        return False
    middle = offset + (word["start"] + (word.get("end") or word["start"])) / 2
    return item["start"] <= middle < item["end"]


def filled(word: dict, offset: float) -> dict:
    return {
        **{k: v for k, v in word.items() if k not in ("characters", "channel_index")},
        "start": round(word["start"] + offset, 3),
        "end": round((word.get("end") or word["start"]) + offset, 3),
        "speaker_id": word.get("speaker_id") or "speaker_0",
        "filled": True,
    }
