"""Batch engines: `base` (the job, the result, the errors, the protocol),
`registry` (which engines this server has, the default, their queues),
`local` (faster-whisper) and `scribe/` (ElevenLabs Scribe)."""

from transcripts.engines.base import (
    BatchEngine,
    EngineJob,
    EngineResult,
    JobCancelled,
    PermanentEngineError,
    Submitted,
    TranscriptionOptions,
)

__all__ = [
    "BatchEngine",
    "EngineJob",
    "EngineResult",
    "JobCancelled",
    "PermanentEngineError",
    "Submitted",
    "TranscriptionOptions",
]
