"""Batch engines: each turns a stored media file and the job's options into
the canonical transcript (the Scribe response shape).

An engine is a class with `name` and `transcribe(job) -> EngineResult`; it
calls `job.progress(fraction)` as it goes, which raises `JobCancelled` when
the user cancelled. `PermanentEngineError` carries a message for the user;
anything else is treated as a crash and retried by the sweeper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


class JobCancelled(Exception):
    """The user cancelled the job while it ran."""


class PermanentEngineError(Exception):
    """The job cannot succeed as submitted; str(self) is shown to the user."""


@dataclass(frozen=True)
class TranscriptionOptions:
    language: str | None = None
    diarize: bool = False
    num_speakers: int | None = None
    diarization_threshold: float | None = None
    tag_audio_events: bool = True
    keyterms: tuple[str, ...] = ()
    multichannel: bool = False
    timestamps_granularity: str = "word"
    no_verbatim: bool = False
    entity_detection: tuple[str, ...] = ()
    temperature: float | None = None
    seed: int | None = None

    @classmethod
    def from_dict(cls, data: dict) -> TranscriptionOptions:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        for name in ("keyterms", "entity_detection"):
            if name in known:
                known[name] = tuple(known[name] or ())
        return cls(**known)

    def to_dict(self) -> dict:
        return {name: list(value) if isinstance(value, tuple) else value for name, value in self.__dict__.items()}


@dataclass
class EngineJob:
    """What an engine gets: the media to read and the options to honour."""

    transcript_id: int
    media_path: str | None  # a local file path, when the storage has one
    media_name: str  # the name in the default storage
    duration: float
    channels: int
    options: TranscriptionOptions
    progress: Callable[[float], None] = field(default=lambda fraction: None)


@dataclass
class EngineResult:
    transcript: dict  # canonical shape
    raw: dict | None = None


@dataclass
class Submitted:
    """The provider accepted the job and will call back (webhook mode)."""

    request_id: str


BUILTIN_ENGINES = {
    "local": "transcripts.engines.local.LocalEngine",
    "scribe": "transcripts.engines.scribe.ScribeEngine",
}


def engine_paths() -> dict[str, str]:
    paths = dict(BUILTIN_ENGINES)
    for entry in settings.EXTRA_ENGINES:
        name, _, path = entry.partition("=")
        paths[name.strip()] = path.strip()
    return paths


@cache
def get_engine(name: str):
    """One engine instance per process (the local one holds a loaded model)."""
    try:
        path = engine_paths()[name]
    except KeyError:
        raise PermanentEngineError(f"The engine “{name}” is not available on this server.") from None
    return import_string(path)()


def queue_for(engine_name: str) -> str:
    """Local transcription is CPU-bound and gets its own small queue; cloud
    engines wait on the network and share a wide one."""
    return "scribe" if engine_name == "scribe" else "local"
