"""The local engine on its own: canonical shape, progress, and channels
transcribed separately."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from transcripts.document import canonical
from transcripts.engines import EngineJob, TranscriptionOptions
from transcripts.engines.local import LocalEngine
from transcripts.media.audio import audio_windows
from transcripts.media.pcm import SAMPLE_RATE

LEFT = "Please remember to water the garden every evening."
RIGHT = "The train to the city leaves from the north platform."


def read_mono(path) -> np.ndarray:
    from faster_whisper import decode_audio

    return (decode_audio(str(path)) * 32767).astype("<i2")


def stereo_file(tmp_path, left: np.ndarray, right: np.ndarray):
    """Two different speakers, one per channel, one after the other in time."""
    gap = np.zeros(SAMPLE_RATE // 2, dtype="<i2")
    left_track = np.concatenate([left, gap, np.zeros_like(right)])
    right_track = np.concatenate([np.zeros_like(left), gap, right])
    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(np.stack([left_track, right_track], axis=1).tobytes())
    return path, len(left_track) / SAMPLE_RATE


def job_for(path, duration: float, channels: int, progress, **options) -> EngineJob:
    return EngineJob(
        transcript_id=0,
        media_path=str(path),
        media_name="",
        duration=duration,
        channels=channels,
        options=TranscriptionOptions(**options),
        progress=progress,
    )


def spoken(words: list[dict]) -> str:
    return " ".join(w["text"].strip(".,").lower() for w in words if w["type"] == "word")


def test_a_recording_becomes_the_canonical_shape_with_rising_progress(speech):
    path = speech(LEFT)
    seen: list[float] = []
    duration = len(read_mono(path)) / SAMPLE_RATE
    result = LocalEngine().transcribe(job_for(path, duration, 1, seen.append))

    transcript = result.transcript
    assert transcript["language_code"] == "en"
    assert transcript["text"] == canonical.join_text(transcript["words"])
    assert {"garden", "evening"} <= set(spoken(transcript["words"]).split())
    kinds = [word["type"] for word in transcript["words"]]
    assert kinds[0] == "word" and "spacing" in kinds
    for word in transcript["words"]:
        assert word["start"] <= word["end"] and word["logprob"] <= 0
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0, abs=0.01)


def test_channels_transcribed_separately_carry_their_channel_index(speech, tmp_path):
    path, duration = stereo_file(tmp_path, read_mono(speech(LEFT)), read_mono(speech(RIGHT)))
    result = LocalEngine().transcribe(job_for(path, duration, 2, lambda fraction: None, multichannel=True))

    words = [w for w in result.transcript["words"] if w["type"] == "word"]
    left = spoken([w for w in words if w["channel_index"] == 0])
    right = spoken([w for w in words if w["channel_index"] == 1])
    assert "garden" in left and "garden" not in right
    assert "platform" in right and "platform" not in left
    assert {w["speaker_id"] for w in words} == {"speaker_0", "speaker_1"}
    starts = [w["start"] for w in words]
    assert starts == sorted(starts)


def test_long_audio_is_cut_into_windows_at_quiet_moments(speech, tmp_path):
    sentence = read_mono(speech(LEFT))
    pause = np.zeros(SAMPLE_RATE, dtype="<i2")
    track = np.concatenate([sentence, pause] * 4)
    path = tmp_path / "long.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(track.tobytes())

    windows = list(audio_windows(str(path), None, window_seconds=6))
    assert len(windows) >= 2
    assert sum(len(audio) for _offset, audio in windows) == len(track)
    for offset, _audio in windows[1:]:
        cut = int(offset * SAMPLE_RATE)
        assert np.abs(track[cut - 800 : cut + 800]).max() < 2000, "a window was cut in the middle of speech"
