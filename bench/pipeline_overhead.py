"""What the pipeline costs on top of the speech model.

    python -m bench.pipeline_overhead [--sentences 60] [--runs 2]

The same generated speech file (espeak-ng, a few minutes of varied
sentences) is transcribed twice over:

- bare: faster-whisper through `transcripts.engines.local` (the same model,
  threads, windows and decoding parameters the engine uses), in this process;
- pipeline: an HTTP upload to a real Daphne, probing, storage, a Celery job
  run by a real worker process (filesystem broker, SQLite), the local
  engine, the stored transcript, observed through the status endpoint.

Both are warmed first (model loaded, worker busy once). Reported: audio
seconds per wall second for each, their ratio and the overhead; the goal is
an overhead under 15%. Runs alternate to share the machine's noise; the
best run of each counts.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

from bench.embedded import EmbeddedSite, upload
from tests import support
from tests.media_corpus import SENTENCE, story

GOAL_OVERHEAD = 0.15


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="verbatim-bench-bare-"))
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()


def duration_of(path: Path) -> float:
    from transcripts.media.probe import inspect

    return inspect(str(path)).duration


def bare(path: Path) -> tuple[float, int]:
    """Wall seconds and word count for the engine's own model calls."""
    from transcripts.engines import TranscriptionOptions, local
    from transcripts.media import audio

    model = local.load_model()
    started = time.perf_counter()
    words = 0
    for _offset, window in audio.audio_windows(str(path), None):
        segments, _info = model.transcribe(window, **local.decoding_options(TranscriptionOptions()))
        words += sum(len(segment.words or []) for segment in segments)
    return time.perf_counter() - started, words


def last_task_seconds(worker) -> float:
    """The worker's own timing of its last task ("... succeeded in 12.3s")."""
    found = re.findall(r"succeeded in ([0-9.]+)s", worker.output())
    return float(found[-1]) if found else float("nan")


def through_pipeline(client, path: Path) -> float:
    started = time.perf_counter()
    job = upload(client, path)

    def finished():
        status = client.get(f"/transcripts/{job['id']}/status/").json()
        return status if status["status"] in ("done", "failed") else None

    status = support.wait_until(finished, 3600, interval=0.1, message="the benchmark job")
    elapsed = time.perf_counter() - started
    if status["status"] != "done":
        raise RuntimeError(f"pipeline job failed: {status['error']}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=60, help="about 3.4 s of speech each")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    setup_django()
    path = support.speech_file(story(args.sentences, seed=11))
    warm = support.speech_file(SENTENCE)
    seconds = duration_of(path)
    print(f"speech file: {path.name}, {seconds:.1f} s of audio")

    site = EmbeddedSite()
    try:
        site.start_daphne()
        worker = site.start_worker(concurrency=1)
        client = site.signed_in_client()
        bare(warm)
        through_pipeline(client, warm)
        bare_times, pipe_times, task_times = [], [], []
        for run in range(args.runs):
            elapsed, words = bare(path)
            bare_times.append(elapsed)
            print(f"run {run + 1}: bare     {elapsed:7.2f} s  ({words} words)")
            elapsed = through_pipeline(client, path)
            pipe_times.append(elapsed)
            task_times.append(last_task_seconds(worker))
            print(f"run {run + 1}: pipeline {elapsed:7.2f} s  (the Celery task itself: {task_times[-1]:.2f} s)")
    finally:
        site.stop()

    bare_speed = seconds / min(bare_times)
    pipe_speed = seconds / min(pipe_times)
    overhead = min(pipe_times) / min(bare_times) - 1
    print(f"bare faster-whisper : {bare_speed:6.2f} audio s per wall s")
    print(f"whole pipeline      : {pipe_speed:6.2f} audio s per wall s")
    outside = statistics.median(p - t for p, t in zip(pipe_times, task_times, strict=True))
    print(f"median time outside the task (upload, probe, queue, polling): {outside:.2f} s")
    print(f"median times: bare {statistics.median(bare_times):.2f} s, pipeline {statistics.median(pipe_times):.2f} s")
    verdict = "met" if overhead < GOAL_OVERHEAD else "NOT met"
    print(
        f"pipeline / bare time: {min(pipe_times) / min(bare_times):.3f}  "
        f"(overhead {overhead:+.1%}, goal under {GOAL_OVERHEAD:.0%}: {verdict})"
    )


if __name__ == "__main__":
    main()
