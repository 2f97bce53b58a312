"""Words a live Scribe session loses when its upstream drops.

    python -m bench.live_drop [--sessions 4] [--pace 10]

Each session streams synthetic speech (tests/fakes/speech.py: words the fake
Scribe really transcribes) through the Scribe realtime upstream to the fake
server, which cuts the connection once it has received `drop` seconds of
audio; the upstream reconnects and goes on, and at the end it commits and
waits for the last text (its `finish`). The words committed are compared
with a batch transcription of the whole recording (the fake's batch side
hears the same words): words lost = reference words missing from the live
text (the deletions of the alignment), and the word error rate.

Cases: continuous speech (no pause a commit can fall in) dropped after 20 s,
40 s and 60 s, and ordinary sentences (8 words, then a pause) dropped
after 40 s. `--sessions` sessions per case, each with other words.

The same script measures the code before the fix: run it from a checkout of
main (`git archive main | tar -x -C /tmp/vb-main`, with this file and
tests/fakes/ copied in): an upstream without a `replay` parameter keeps the
old fixed in-memory window. The audio is streamed `--pace` times faster than
real time (the replay window is counted in audio, not wall time).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHUNK_BYTES = 6400  # 200 ms
CASES = [("continuous", 0, 20), ("continuous", 0, 40), ("continuous", 0, 60), ("sentences", 8, 40)]


def setup() -> None:
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="verbatim-bench-drop-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    import django

    django.setup()


def deletions(reference: list[str], hypothesis: list[str]) -> int:
    """Reference words the hypothesis does not have (edit-distance alignment)."""
    rows = [[(j, 0) for j in range(len(hypothesis) + 1)]]  # (cost, deletions)
    for i, ref in enumerate(reference, 1):
        row = [(i, i)]
        for j, hyp in enumerate(hypothesis, 1):
            cost, dels = min(
                (rows[-1][j][0] + 1, rows[-1][j][1] + 1),  # ref word deleted
                (row[j - 1][0] + 1, row[j - 1][1]),  # hyp word inserted
                (rows[-1][j - 1][0] + (ref != hyp), rows[-1][j - 1][1]),
            )
            row.append((cost, dels))
        rows.append(row)
    return rows[-1][-1][1]


async def session(fake, pcm: bytes, drop: float, pace: float) -> list[str]:
    from realtime.upstreams import Committed
    from realtime.upstreams.scribe import ScribeUpstream
    from tests.fakes.scribe import Fault

    words: list[str] = []
    recording = bytearray()

    async def emit(event) -> None:
        if isinstance(event, Committed):
            words.extend(event.text.split())

    async def replay(start: int, end: int) -> bytes:
        return bytes(recording[start:end])

    options: dict[str, Any] = {"language": "en", "emit": emit}
    if "replay" in inspect.signature(ScribeUpstream).parameters:
        options["replay"] = replay  # after the fix: the recording is the source
    fake.faults.push("realtime", Fault("drop", delay=drop))
    upstream = ScribeUpstream(**options)
    await upstream.start()
    for offset in range(0, len(pcm), CHUNK_BYTES):
        chunk = pcm[offset : offset + CHUNK_BYTES]
        recording += chunk
        await upstream.send(chunk)
        await asyncio.sleep(len(chunk) / 32000 / pace)
    await upstream.finish(10) if "timeout" in inspect.signature(upstream.finish).parameters else await upstream.finish()
    return words


async def run(sessions: int, pace: float) -> None:
    from django.conf import settings

    from tests.fakes import speech
    from tests.fakes.scribe import FakeScribe
    from tests.fakes.scribe_realtime import realtime_state

    with FakeScribe() as fake:
        fake.hear = speech.hear
        settings.ELEVENLABS_API_KEY, settings.ELEVENLABS_BASE_URL = fake.api_key, fake.base_url
        header = ("case", "drop at", "words", "lost/session", "lost %", "WER", "left open")
        print("{:<12} {:>8} {:>6} {:>13} {:>7} {:>6} {:>10}".format(*header))
        for style, sentence_words, drop in CASES:
            said = lost = 0
            errors = []
            for seed in range(sessions):
                pcm = speech.say(speech.script(drop + 20, sentence_words=sentence_words, seed=seed))
                reference = speech.text(pcm).split()  # the batch transcription of the same recording
                live = await session(fake, pcm, drop, pace)
                said += len(reference)
                lost += deletions(reference, live)
                errors.append(speech.wer(reference, live))
            await asyncio.sleep(0.5)
            print(
                f"{style:<12} {drop:>7}s {said / sessions:>6.0f} {lost / sessions:>13.1f} "
                f"{100 * lost / said:>6.1f}% {sum(errors) / len(errors):>5.1f} {realtime_state(fake).open_sessions:>10}"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--pace", type=float, default=10.0)
    args = parser.parse_args()
    setup()
    began = time.monotonic()
    asyncio.run(run(args.sessions, args.pace))
    print(f"({time.monotonic() - began:.0f} s)")


if __name__ == "__main__":
    main()
