"""The local live engine on one stream: committed-text lag and CPU.

    python -m bench.live_local [--repeat 2]

A speech recording (espeak-ng, ~12 s, repeated) is fed in real time, in
200 ms chunks, to the local upstream (faster-whisper tiny.en on a rolling
window with local agreement, one worker thread). For every committed word:
lag = when it was committed - when its audio ended in the stream. Also the
process CPU while streaming (100% = one core) and the time per decode. The
baseline in the same run is a batch transcription of the same audio (the
real-time factor the model reaches with the machine as loaded as it is now).
Goal: committed-text lag under 3 s, keeping up with one stream.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPEECH = (
    "Please remember to water the garden every morning before the sun gets too hot. "
    "The children walked to the library after school on a quiet afternoon."
)


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
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    setup()
    import numpy as np

    from tests.realtime.live_support import silence, speech_pcm
    from tests.support import speech_file
    from transcripts.engines.local import load_model

    one = speech_pcm(speech_file(SPEECH)) + silence(1.0)
    pcm = one * args.repeat
    audio_seconds = len(pcm) / 32000
    from django.conf import settings

    from transcripts.engines import TranscriptionOptions
    from transcripts.engines.local import decoding_options

    model = load_model(settings.LIVE_LOCAL_THREADS)
    started = time.monotonic()
    segments, _ = model.transcribe(
        np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768, **decoding_options(TranscriptionOptions())
    )
    list(segments)
    batch = time.monotonic() - started
    lags, cpu, wall, decodes, text = asyncio.run(stream(pcm))
    lags.sort()
    print(f"local live: {audio_seconds:.1f} s of speech streamed in real time (load average {os.getloadavg()[0]:.1f})")
    print(f"  baseline batch: {batch:.2f} s for the same audio = {audio_seconds / batch:.1f}x real time")
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
    print(f"  text: {text}")


if __name__ == "__main__":
    main()
