"""What the Scribe-compatible API costs on top of the engine.

    python -m bench.api_overhead [--requests 3] [--clients 20] [--workers 2]

The same short recording (espeak-ng) is transcribed

- through the API: the official `elevenlabs` SDK's `speech_to_text.convert()`
  against a real embedded Verbatim (Daphne, a Celery worker with `--workers`
  processes, SQLite, the filesystem broker, the local engine), each request
  a job in the library, answered when done (sync mode);
- in-process: the local engine's `transcribe()` called directly in this
  process, on a pool of `--workers` threads (the same parallelism).

Reported, both ways: the median latency of one request at a time (and the
overhead per request), and requests per second with `--clients` clients
sending `--requests` each at once. Both are warmed first.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.embedded import EmbeddedSite
from tests import support
from tests.media_corpus import SENTENCE


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="verbatim-bench-api-"))
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()


def in_process(path: Path):
    """One call of the local engine, as a worker makes it."""
    from transcripts.engines import EngineJob, TranscriptionOptions
    from transcripts.engines.local import LocalEngine
    from transcripts.media.probe import inspect

    info = inspect(str(path))
    engine = LocalEngine()

    def run() -> str:
        job = EngineJob(
            transcript_id=0,
            media_path=str(path),
            media_name=path.name,
            duration=info.duration,
            channels=info.channels,
            options=TranscriptionOptions(),
        )
        return engine.transcribe(job).transcript["text"]

    return run


def api_token(site: EmbeddedSite) -> str:
    """Made on the account page, as a person would."""
    client = site.signed_in_client()
    page = client.post("/api/account/tokens", data={"name": "bench"}, headers={"Accept": "text/html"}).text
    return re.search(r'id="shown-secret" readonly value="([^"]+)"', page).group(1)


def through_api(base_url: str, key: str, path: Path):
    from elevenlabs import ElevenLabs

    client = ElevenLabs(api_key=key, base_url=base_url, timeout=600)

    def run() -> str:
        with path.open("rb") as file:
            return client.speech_to_text.convert(file=file, model_id="scribe_v2").text

    return run


def latency(run, count: int) -> float:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def throughput(run, clients: int, requests: int, workers: int | None = None) -> float:
    """Requests per second with `clients` callers at once (each `requests` in
    a row); `workers` caps how many run at a time (the in-process pool)."""
    pool = ThreadPoolExecutor(max_workers=workers) if workers else None

    def client() -> None:
        for _ in range(requests):
            pool.submit(run).result() if pool else run()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as callers:
        for future in [callers.submit(client) for _ in range(clients)]:
            future.result()
    elapsed = time.perf_counter() - started
    if pool:
        pool.shutdown()
    return clients * requests / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3, help="per client, in the concurrent run")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="worker processes / in-process threads")
    parser.add_argument("--sequential", type=int, default=5, help="requests timed one at a time")
    args = parser.parse_args()

    setup_django()
    path = support.speech_file(SENTENCE)
    print(f"recording: {path.name}")
    bare = in_process(path)
    site = EmbeddedSite(API_RATE_CREATE="100000/minute", LOCAL_STT_THREADS="1")
    try:
        site.start_daphne()
        site.start_worker(concurrency=args.workers)
        api = through_api(site.base_url, api_token(site), path)
        print(f"warm: in-process {bare()!r}; API {api()!r}")
        bare_latency = latency(bare, args.sequential)
        api_latency = latency(api, args.sequential)
        bare_rate = throughput(bare, args.clients, args.requests, workers=args.workers)
        api_rate = throughput(api, args.clients, args.requests)
    finally:
        site.stop()

    print(f"one request at a time (median of {args.sequential}):")
    print(f"  in-process engine : {bare_latency * 1000:8.0f} ms")
    print(f"  SDK convert() API : {api_latency * 1000:8.0f} ms")
    print(f"  overhead per request: {(api_latency - bare_latency) * 1000:+.0f} ms ({api_latency / bare_latency:.2f}x)")
    print(f"{args.clients} clients x {args.requests} requests, {args.workers} workers:")
    print(f"  in-process engine : {bare_rate:6.2f} requests/s")
    print(f"  SDK convert() API : {api_rate:6.2f} requests/s")
    print(f"  API / in-process  : {api_rate / bare_rate:.2f}")


if __name__ == "__main__":
    main()
