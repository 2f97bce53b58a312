"""The offline engine: faster-whisper with a CTranslate2 Whisper model
(which one, on which device: whisper_models), and speakers identified
offline when the speakers extra is installed (speakers).

Audio is decoded and transcribed in windows of a few minutes so memory stays
flat on a ten-hour file, and progress is the position reached in the audio.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from django.conf import settings

from transcripts.document import canonical
from transcripts.engines import speakers, whisper_models
from transcripts.engines.base import Capabilities, EngineJob, EngineResult, PermanentEngineError, TranscriptionOptions
from transcripts.media.audio import windows
from transcripts.media.decoder import DecodeFailed, isolated_chunks
from transcripts.media.pcm import SAMPLE_RATE

# The share of a job's progress the diarization pass takes, when asked for.
DIARIZATION_SHARE = 0.1

_models: dict[tuple, object] = {}
_models_lock = threading.Lock()


def model_dir():
    return whisper_models.model_dir()


def load_model(cpu_threads: int | None = None, model_class=None):
    """One loaded model per process, device, thread setting and class; loading takes a second."""
    from faster_whisper import WhisperModel

    model_class = model_class or WhisperModel
    device = whisper_models.device()
    key = (
        str(model_dir()),
        device,
        whisper_models.compute_type(device),
        cpu_threads or settings.LOCAL_STT_THREADS,
        model_class,
    )
    with _models_lock:
        if key not in _models:
            _models[key] = model_class(
                key[0], device=device, compute_type=key[2], cpu_threads=key[3], local_files_only=True
            )
        return _models[key]


def model_capabilities() -> Capabilities:
    try:
        offered = whisper_models.languages(model_dir())
    except PermanentEngineError:  # no model: every job fails with that message
        offered = ()
    return Capabilities(
        languages=offered,
        detects_language=len(offered) > 1,
        diarization=speakers.available(),
        max_speakers=32,
        # Whisper writes "[music]" now and then, but it is no event tagger.
        audio_events=False,
        keyterms=True,
        multichannel=True,
    )


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

    @classmethod
    def capabilities(cls) -> Capabilities:
        return model_capabilities()

    def transcribe(self, job: EngineJob) -> EngineResult:
        model = load_model()
        channels = list(range(job.channels)) if job.options.multichannel and job.channels > 1 else [None]
        share = 1.0 - DIARIZATION_SHARE if job.options.diarize else 1.0
        tokens: list[dict] = []
        found = Detected(job.options.language or "", 1.0 if job.options.language else 0.0)
        for position, channel in enumerate(channels):

            def report(seconds: float, position: int = position) -> None:
                done = position + min(seconds / max(job.duration, 0.001), 1.0)
                job.progress(share * done / len(channels))

            tokens.extend(self._channel_tokens(model, job, channel, report, found))
        tokens.sort(key=lambda token: (token["start"], token.get("channel_index") or 0))
        tokens = [token for token in tokens if token["type"] != "audio_event"]
        transcript = canonical.build(
            canonical.with_spacing(tokens),
            language_code=found.language or "en",
            language_probability=round(found.probability, 4),
        )
        return EngineResult(transcript=transcript, raw=None)

    def _channel_tokens(self, model, job: EngineJob, channel: int | None, report, found: Detected) -> list[dict]:
        speaker = f"speaker_{channel or 0}"
        sentences: list[list[dict]] = []
        kept: list[np.ndarray] = []  # the channel's audio, for the diarization pass
        # Decoded in a child process as it is read (from a bucket: in ranges,
        # with nothing on disk): a file that crashes FFmpeg fails this job
        # with a message instead of killing the worker.
        try:
            for offset, audio in windows(isolated_chunks(job.source(), channel)):
                segments, info = transcribe_window(model, audio, job.options, found.language or None)
                found.settle(info)
                for segment in segments:
                    sentences.append([word_token(w, offset, speaker, channel) for w in segment.words or []])
                    report(offset + segment.end)
                report(offset + len(audio) / SAMPLE_RATE)
                if job.options.diarize:
                    kept.append((audio * 32767).astype(np.int16))
        except DecodeFailed as failed:
            raise PermanentEngineError(str(failed)) from None
        if job.options.diarize and kept:
            with_speakers(sentences, np.concatenate(kept), job.options, channel)
        return [token for words in sentences for token in words]


class Detected:
    """The language of a job: the one asked for, or the one the first window
    detected (kept for the rest, so a long file is one language)."""

    def __init__(self, language: str, probability: float):
        self.language, self.probability = language, probability

    def settle(self, info) -> None:
        if not self.language and info.language:
            self.language, self.probability = info.language, float(info.language_probability or 0.0)


def transcribe_window(model, audio: np.ndarray, options: TranscriptionOptions, language: str | None):
    decoding = {**decoding_options(options), "language": language}
    if settings.LOCAL_STT_BATCH_SIZE:
        from faster_whisper import BatchedInferencePipeline

        batched = BatchedInferencePipeline(model)
        return batched.transcribe(audio, batch_size=settings.LOCAL_STT_BATCH_SIZE, **decoding)
    return model.transcribe(audio, **decoding)


def with_speakers(sentences: list[list[dict]], audio: np.ndarray, options: TranscriptionOptions, channel) -> None:
    """The words given to the speakers the diarization pass found. On a
    recording whose channels are transcribed separately, each channel's
    speakers are named after it (speaker_1_0...)."""
    found = speakers.turns(audio.astype(np.float32) / 32767, options.num_speakers)
    if channel is not None:
        found = [speakers.Turn(t.start, t.end, t.speaker.replace("speaker_", f"speaker_{channel}_")) for t in found]
    speakers.assign(sentences, found)
