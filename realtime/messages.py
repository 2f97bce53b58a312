"""The JSON messages of the live sockets (the page's and the viewers'), in
one place."""

from __future__ import annotations

from django.urls import reverse

from realtime.relay import LiveOptions, Segment


def ready(session_uuid: str, options: LiveOptions) -> dict:
    return {
        "type": "ready",
        "session": session_uuid,
        "engine": options.engine,
        "language": options.language,
        "resumed": bool(options.resume),
    }


def partial(text: str) -> dict:
    return {"type": "partial", "text": text}


def committed(segment: Segment) -> dict:
    return {
        "type": "committed",
        "index": segment.index,
        "text": segment.text,
        "start": segment.start,
        "end": segment.end,
    }


def status(state: str, message: str) -> dict:
    return {"type": "status", "state": state, "message": message}


def error(code: str, message: str, *, fatal: bool = True) -> dict:
    return {"type": "error", "code": code, "message": message, "fatal": fatal}


def ended(transcript_id: int) -> dict:
    return {"type": "ended", "transcript": transcript_id, "url": reverse("transcripts:detail", args=[transcript_id])}


VIEWERS_ENDED = {"type": "ended"}


def backlog(segments: list[str], *, ended: bool) -> dict:
    return {"type": "backlog", "segments": segments, "ended": ended}


def transcript(text: str) -> dict:
    """To viewers of an ended session: its transcript was edited; this is its text now."""
    return {"type": "transcript", "text": text}
