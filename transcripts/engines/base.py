"""What every batch engine shares: the job it is given, what it returns,
and its errors. An engine turns a stored media file and the job's options
into the canonical transcript (the Scribe response shape); it calls
`job.progress(fraction)` as it goes, which raises `JobCancelled` when the
user cancelled. `PermanentEngineError` carries a message for the user;
anything else is treated as a crash and retried by the sweeper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, Literal, Protocol

from transcripts import languages
from transcripts.media.decoder import MediaSource


class JobCancelled(Exception):
    """The user cancelled the job while it ran."""


class PermanentEngineError(Exception):
    """The job cannot succeed as submitted; str(self) is shown to the user."""


class RetryLater(Exception):
    """The job cannot start now (the provider is busy, or every slot of the
    account is taken): the runner puts it back in the queue, holding no
    worker thread. `busy`: the provider refused it, so the wait grows and
    counts towards JOB_BUSY_BUDGET_SECONDS; otherwise it waits `delay` for
    a slot. `notice` is shown on the job's row ("Scribe is busy")."""

    def __init__(self, notice: str, *, busy: bool, delay: float = 0.0, reason: str = ""):
        super().__init__(reason or notice)
        self.notice, self.busy, self.delay, self.reason = notice, busy, delay, reason or notice


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
    # Entities replaced by placeholders in the text (a subset of entity_detection).
    entity_redaction: tuple[str, ...] = ()
    entity_redaction_mode: str | None = None  # redacted | entity_type | enumerated_entity_type
    # Ask the provider to keep nothing (Scribe: enable_logging=false).
    zero_retention: bool = False
    temperature: float | None = None
    seed: int | None = None
    # Text that sets the context (OpenAI's `prompt`): the local engine gives it
    # to Whisper as its initial prompt. Scribe's batch API has no such field
    # (its bias is `keyterms`), so the Scribe engine does not send it.
    prompt: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> TranscriptionOptions:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        for name in ("keyterms", "entity_detection", "entity_redaction"):
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
    # Opens the media for reading, wherever it is stored: a local file, or an
    # object in a bucket read in ranges (transcripts.media.storage.open_media).
    open_media: Callable[[], BinaryIO] | None = None
    # Where a child process can read the media (transcripts.media.decoder):
    # the local path, or a presigned URL of the object.
    media_source: Callable[[], MediaSource] | None = None

    def source(self) -> MediaSource:
        if self.media_source is not None:
            return self.media_source()
        if self.media_path is None:
            raise PermanentEngineError("The recording cannot be read from storage.")
        return MediaSource(path=self.media_path)

    def open(self) -> BinaryIO:
        if self.open_media is not None:
            return self.open_media()
        if self.media_path is None:
            raise PermanentEngineError("The recording cannot be read from storage.")
        return open(self.media_path, "rb")  # noqa: SIM115 - the caller closes it


@dataclass
class EngineResult:
    transcript: dict  # canonical shape
    raw: dict | None = None


@dataclass
class Submitted:
    """The provider accepted the job and will call back (webhook mode)."""

    request_id: str


@dataclass(frozen=True)
class Capabilities:
    """What an engine can honour on this server. The pages offer only this,
    and the server refuses any other option (`refusals`), whatever a client
    sent. `languages` are the codes it can transcribe; `detects_language`:
    it can be left to find the language itself."""

    languages: tuple[str, ...]
    detects_language: bool = True
    diarization: bool = False
    max_speakers: int = 32
    audio_events: bool = False
    keyterms: bool = False
    multichannel: bool = False
    clean_verbatim: bool = False  # no_verbatim: without fillers and false starts
    redaction: bool = False
    # A provider that keeps a copy unless asked not to (an engine that keeps
    # nothing elsewhere honours zero retention as it is: never refused).
    zero_retention: bool = False

    def default_language(self) -> str | None:
        """The language a job without one is transcribed in: None when the
        engine detects it, else its only language (an English-only model)."""
        if self.detects_language or not self.languages:
            return None
        return self.languages[0]

    def refusals(self, options: TranscriptionOptions, label: str) -> dict[str, str]:
        """The options this engine cannot honour, by field, with the message."""
        refused = {}
        if options.language and options.language not in self.languages:
            refused["language"] = (
                f"{label} cannot transcribe {languages.name(options.language)} on this server "
                f"(it knows {language_list(self.languages)})."
            )
        if not options.language and not self.detects_language and len(self.languages) > 1:
            refused["language"] = f"{label} cannot detect the language: choose one."
        if options.diarize and not self.diarization:
            refused["diarize"] = f"{label} cannot identify speakers on this server."
        if options.diarize and options.num_speakers and options.num_speakers > self.max_speakers:
            refused["num_speakers"] = f"{label} identifies at most {self.max_speakers} speakers."
        if options.tag_audio_events and not self.audio_events:
            refused["tag_audio_events"] = f"{label} does not tag audio events."
        if options.keyterms and not self.keyterms:
            refused["keyterms"] = f"{label} does not take key terms."
        if options.multichannel and not self.multichannel:
            refused["multichannel"] = f"{label} cannot transcribe channels separately."
        if options.no_verbatim and not self.clean_verbatim:
            refused["no_verbatim"] = f"{label} does not make clean-verbatim transcripts."
        if options.entity_redaction and not self.redaction:
            refused["redact"] = f"{label} cannot redact what was said."
        return refused

    def to_dict(self) -> dict:
        """For the pages' scripts (which options to offer as the engine changes)."""
        return {
            "languages": list(self.languages),
            "detects_language": self.detects_language,
            "diarization": self.diarization,
            "max_speakers": self.max_speakers,
            "audio_events": self.audio_events,
            "keyterms": self.keyterms,
            "multichannel": self.multichannel,
            "clean_verbatim": self.clean_verbatim,
            "redaction": self.redaction,
            "zero_retention": self.zero_retention,
        }


def language_list(codes: tuple[str, ...]) -> str:
    if len(codes) > 5:
        return f"{len(codes)} other languages"
    return "only " + ", ".join(languages.name(code) for code in codes) if codes else "no language: no model"


class BatchEngine(Protocol):
    """What a batch engine is. `kind` sends its jobs to a queue: "cpu" work
    (the local engine) runs a few at a time, sized to the cores; "io" work (a
    cloud engine waiting on the network) runs many at once in threads.

    Optional: `reconcile(transcript) -> EngineResult | None`, for engines
    that answer later (a webhook): asked about a job whose answer is late."""

    name: str
    label: str
    kind: Literal["cpu", "io"]

    @classmethod
    def capabilities(cls) -> Capabilities: ...

    def transcribe(self, job: EngineJob) -> EngineResult | Submitted: ...
