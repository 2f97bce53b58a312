"""Whether a frame of the page's audio is silence: a muted microphone or an
empty room, as opposed to speech (realtime/relay.py ends a session that
sends nothing else for LIVE_SILENCE_TIMEOUT, so a forgotten tab does not
hold a local slot or spend Scribe minutes)."""

from __future__ import annotations

import numpy as np

# Speech at a microphone is around -30 to -20 dBFS; a quiet room through a
# browser's noise suppression is well under -60. Between them, some margin.
SILENCE_DBFS = -50.0
FULL_SCALE = 32768.0


def rms(pcm: bytes) -> float:
    """The level of PCM16 little-endian mono audio, 1.0 at full scale (0 for none)."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32)
    return float(np.sqrt(np.mean(np.square(samples)))) / FULL_SCALE if samples.size else 0.0


def is_silence(pcm: bytes) -> bool:
    return rms(pcm) < 10 ** (SILENCE_DBFS / 20)
