"""faster-whisper's batched pipeline against the local engine's sequential
windows, on long recordings.

    python -m bench.local_batched [--minutes 10,60] [--batch-sizes 4,8]

A long reading (espeak-ng, varied sentences, the minutes asked for) goes
through the local engine itself (LocalEngine.transcribe: its windows,
decoding settings and threads) with LOCAL_STT_BATCH_SIZE=0 (sequential, the
default) and with each batch size, alternating. Reported: audio seconds per
wall second of each, its ratio to sequential, and each one's word error
rate against the script. Adopt batching as the default only where it is
faster at equal WER on the machines Verbatim runs on.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def setup() -> None:
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="verbatim-bench-batched-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()


def reading(minutes: float):
    """About `minutes` of speech: sentences read one after another (cached)."""
    import wave

    from tests.media_corpus import story
    from tests.realtime.live_support import speech_pcm
    from tests.support import GENERATED, speech_file

    target = GENERATED / f"reading-{minutes:g}min.wav"
    text = story(int(minutes * 60 / 3.2), seed=23)
    if not target.exists():
        sentences = [sentence.strip() + "." for sentence in text.split(".") if sentence.strip()]
        pieces = [speech_pcm(speech_file(sentence)) + b"\0\0" * 4800 for sentence in sentences]
        with wave.open(str(target), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16000)
            out.writeframes(b"".join(pieces))
    with wave.open(str(target)) as wav:
        seconds = wav.getnframes() / 16000
    return target, text, seconds


def transcribe(path, seconds: float, batch_size: int) -> tuple[str, float]:
    from django.test import override_settings

    from transcripts.engines import EngineJob, TranscriptionOptions
    from transcripts.engines.local import LocalEngine

    job = EngineJob(
        transcript_id=0,
        media_path=str(path),
        media_name="",
        duration=seconds,
        channels=1,
        options=TranscriptionOptions(),
    )
    with override_settings(LOCAL_STT_BATCH_SIZE=batch_size):
        started = time.perf_counter()
        transcript = LocalEngine().transcribe(job).transcript
        return transcript["text"], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", default="10,60")
    parser.add_argument("--batch-sizes", default="4,8")
    args = parser.parse_args()
    setup()
    from tests.support import word_error_rate
    from transcripts.engines.local import load_model

    load_model()
    sizes = [0, *(int(size) for size in args.batch_sizes.split(","))]
    for minutes in (float(value) for value in args.minutes.split(",")):
        path, script, seconds = reading(minutes)
        print(f"\n{seconds / 60:.1f} min reading (load average {os.getloadavg()[0]:.1f})", flush=True)
        speed: dict[int, float] = {}
        for size in sizes:
            text, wall = transcribe(path, seconds, size)
            speed[size] = seconds / wall
            name = "sequential" if size == 0 else f"batched, batch {size}"
            ratio = speed[size] / speed[0]
            print(
                f"  {name:18s} {speed[size]:5.1f}x real time ({ratio:.2f}x sequential), "
                f"WER {word_error_rate(script, text):.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
