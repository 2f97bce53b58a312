"""The local live engine on one stream: committed-text lag and CPU.

    python -m bench.live_local

A speech recording (espeak-ng reading four sentences, then the first two
again, ~35 s) is fed in real time, in 200 ms chunks, to the local upstream
(faster-whisper tiny.en on a rolling window with local agreement). For every
committed word: lag = when it was committed - when its audio ended in the
stream. Also the process CPU while streaming (100% = one core), the time per
decode, and the word error rate of the committed text against the script.
The baseline in the same run is a batch transcription of the same audio with
the batch engine's settings: its speed (the real-time factor the machine
reaches as loaded as it is now) and its word error rate (what the model can
do with the whole recording at once).
Goal: committed-text lag under 3 s, keeping up with one stream.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTENCES = [
    "Please remember to water the garden every morning before the sun gets too hot.",
    "The children walked to the library after school on a quiet afternoon.",
    "Our quarterly revenue grew by twelve percent, mostly thanks to the new subscription plans in Europe.",
    "She packed a small suitcase, locked the front door, and took the early train to the coast.",
]
SCRIPT = SENTENCES + SENTENCES[:2]


def setup() -> None:
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="verbatim-bench-local-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    import django

    django.setup()


async def stream(pcm: bytes) -> tuple[list[float], float, float, list[float], str]:
    from realtime.upstreams import Committed
    from realtime.upstreams.local import LocalUpstream

    lags: list[float] = []
    texts: list[str] = []
    began = 0.0

    async def emit(event) -> None:
        if isinstance(event, Committed):
            now = time.monotonic()
            texts.append(event.text)
            lags.extend(now - (began + word["end"]) for word in event.words or [])

    upstream = LocalUpstream(language="", emit=emit)
    await upstream.start()
    cpu0 = time.process_time()
    began = time.monotonic()
    for i in range(0, len(pcm), 6400):
        await asyncio.sleep(max(began + i / 32000 - time.monotonic(), 0))
        await upstream.send(pcm[i : i + 6400])
    wall = time.monotonic() - began
    cpu = time.process_time() - cpu0
    await upstream.finish()
    return lags, cpu / wall, wall, upstream.decode_seconds, " ".join(texts)


def main() -> None:
    setup()
    import numpy as np

    from tests.realtime.live_support import silence, speech_pcm
    from tests.support import speech_file, word_error_rate
    from transcripts.engines.local import load_model

    pcm = b"".join(speech_pcm(speech_file(sentence)) + silence(0.6) for sentence in SCRIPT)
    reference = " ".join(SCRIPT)
    audio_seconds = len(pcm) / 32000
    from django.conf import settings

    from transcripts.engines import TranscriptionOptions
    from transcripts.engines.local import decoding_options

    model = load_model(settings.LIVE_LOCAL_THREADS)
    started = time.monotonic()
    segments, _ = model.transcribe(
        np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768, **decoding_options(TranscriptionOptions())
    )
    batch_text = " ".join(segment.text for segment in segments)
    batch = time.monotonic() - started
    lags, cpu, wall, decodes, text = asyncio.run(stream(pcm))
    lags.sort()
    print(f"local live: {audio_seconds:.1f} s of speech streamed in real time (load average {os.getloadavg()[0]:.1f})")
    print(
        f"  baseline batch: {batch:.2f} s for the same audio = {audio_seconds / batch:.1f}x real time, "
        f"word error rate {word_error_rate(reference, batch_text):.3f}"
    )
    if lags:
        print(
            f"  committed-text lag: p50 {statistics.median(lags):.2f} s, p90 {lags[int(len(lags) * 0.9)]:.2f} s, "
            f"max {lags[-1]:.2f} s over {len(lags)} words (goal < 3 s)"
        )
    print(
        f"  decodes: {len(decodes)}, mean {statistics.mean(decodes):.2f} s, max {max(decodes):.2f} s "
        f"(one every {wall / max(len(decodes), 1):.2f} s of stream)"
    )
    print(f"  CPU while streaming: {cpu * 100:.0f}% of one core")
    print(f"  live word error rate: {word_error_rate(reference, text):.3f}")
    print(f"  text: {text}")


if __name__ == "__main__":
    main()
