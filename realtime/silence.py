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


def is_silence(pcm: bytes) -> bool:
    """PCM16 little-endian mono, an even number of bytes (the consumer checks)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    if samples.size == 0:
        return True
    rms = float(np.sqrt(np.mean(samples * samples)))
    return rms < FULL_SCALE * 10 ** (SILENCE_DBFS / 20)
