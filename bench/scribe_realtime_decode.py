"""What taking audio through the Scribe-compatible realtime socket costs the
server, per second of audio, in each `audio_format`.

    python -m bench.scribe_realtime_decode [--seconds 60] [--chunk 0.25]

A client's `input_audio_chunk` (JSON, base64 audio) is turned into the
16 kHz PCM16 the live relay takes (api/compat/scribe_realtime_protocol.py:
parse, base64, mu-law or resampling). The baseline, measured in the same
run, is what the server already pays for the same audio when it proxies a
live session to Scribe: encoding it into such a chunk
(realtime.upstreams.scribe.chunk_message). Reported per format: CPU
seconds per audio second (the real-time factor; its inverse is how many
sessions one core decodes) and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")


def speechlike(seconds: float, rate: int) -> np.ndarray:
    """A mix of tones with a syllable-rate envelope (not silence: the resampler does real work)."""
    t = np.arange(int(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * f * t) for f in (180, 420, 1100, 2600)) / 4
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
    return 0.4 * wave * envelope


def client_chunks(audio_format: str, rate: int, seconds: float, chunk: float) -> list[str]:
    samples = speechlike(seconds, rate)
    if audio_format == "ulaw_8000":
        raw = mulaw(samples)
    else:
        raw = (samples * 32767).astype("<i2").tobytes()
    step = int(rate * chunk) * (1 if audio_format == "ulaw_8000" else 2)
    return [
        json.dumps(
            {
                "message_type": "input_audio_chunk",
                "audio_base_64": base64.b64encode(raw[i : i + step]).decode(),
                "commit": False,
                "sample_rate": rate,
                "previous_text": None,
            }
        )
        for i in range(0, len(raw), step)
    ]


def mulaw(samples: np.ndarray) -> bytes:
    """G.711 mu-law encoding (the inverse of the protocol module's table)."""
    mu = 255.0
    compressed = np.sign(samples) * np.log1p(mu * np.abs(samples)) / np.log1p(mu)
    return (~((compressed + 1) / 2 * 255).astype(np.uint8)).tobytes()


def cpu(work) -> float:
    began = time.process_time()
    work()
    return time.process_time() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--chunk", type=float, default=0.25, help="seconds of audio per client chunk")
    args = parser.parse_args()

    import django

    django.setup()
    from api.compat import scribe_realtime_protocol as protocol
    from realtime.upstreams.scribe import chunk_message

    pcm = (speechlike(args.seconds, 16000) * 32767).astype("<i2").tobytes()
    step = int(16000 * args.chunk) * 2
    pieces = [pcm[i : i + step] for i in range(0, len(pcm), step)]
    baseline = cpu(lambda: [chunk_message(piece) for piece in pieces]) / args.seconds
    print(f"{args.seconds:.0f} s of audio in {args.chunk} s chunks")
    print(f"baseline (encoding it for Scribe): {baseline * 1000:.3f} ms CPU per audio second")
    print(f"{'audio_format':<12} {'ms CPU/audio s':>15} {'real-time factor':>17} {'x baseline':>11}")
    for audio_format, rate in protocol.AUDIO_FORMATS.items():
        messages = client_chunks(audio_format, rate, args.seconds, args.chunk)
        options = protocol.options_from(f"model_id=bench&audio_format={audio_format}".encode())

        def decode_all(messages=messages, options=options) -> None:
            decoder = protocol.ChunkDecoder(options)
            for message in messages:
                decoder.decode(message)

        per_second = cpu(decode_all) / args.seconds
        print(f"{audio_format:<12} {per_second * 1000:>15.3f} {per_second:>17.5f} {per_second / baseline:>11.1f}")


if __name__ == "__main__":
    main()
