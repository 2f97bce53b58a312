"""A faster-whisper model that encodes only the audio it was given.

faster-whisper pads every window to Whisper's 30 s of mel frames, so each
live decode of a few seconds paid for a 30 s encoder pass (measured here:
0.35-0.6 s of a 0.5-0.9 s decode). CTranslate2's encoder accepts shorter
input, and its cost falls with the length (3000 frames 0.63 s, 1000 frames
0.08 s on this machine). Whisper was trained on 30 s windows, though: with
no padding at all it loops ("before the sun gets, before the sun gets, ...").
Keeping 2 s of the padding (and dropping words timed past the audio, see
local.py) gave live text as good as the full 30 s window on bench.live_local's
script: word error rate 0.09-0.12, against 0.11 with the full window and 0.09
for a batch pass over the whole recording, with decodes 0.35-0.5 s instead of
0.9 s, and the committed-text lag p50 1.2-1.5 s instead of 2.4 s.

Imported only when a live local session starts, because it loads CTranslate2.
"""

from __future__ import annotations

import numpy as np
from faster_whisper import WhisperModel

KEEP_PADDING_FRAMES = 200  # 2 s at 100 mel frames per second
MAX_FRAMES = 3000


def encoded_frames(features: np.ndarray) -> int:
    """How many mel frames to encode: the audio plus some of the padding.
    faster-whisper pads with exact zeros, which a real log-mel column never is
    (every value would have to land on the same point of the log scale)."""
    used = np.flatnonzero(np.any(features != 0, axis=0))
    content = int(used[-1]) + 1 if len(used) else 0
    return min(MAX_FRAMES, content + KEEP_PADDING_FRAMES)


class ShortEncoderWhisperModel(WhisperModel):
    def encode(self, features: np.ndarray):
        return super().encode(features[..., : encoded_frames(features)])
