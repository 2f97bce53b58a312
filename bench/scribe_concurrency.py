"""How many Scribe jobs one worker host keeps in flight.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/verbatim_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
        python -m bench.scribe_concurrency [--jobs 500] [--latency 5] [--threads 500]

N jobs go to the fake Scribe server (tests/fakes), which answers every
request after a fixed latency L. One Celery worker serves the `scribe` queue
the way `manage.py serve` runs it (a thread pool). Printed, all measured in
this run: the wall time of the whole batch as a multiple of L, the peak
number of requests in flight at the fake, the worker's CPU time per job, and
as the baseline a prefork pool of 2 processes (the default pool) on a small
batch, whose wall time / L extrapolates to the full batch.

The database named by DATABASE_URL is created if missing, migrated, and its
benchmark rows are deleted afterwards; REDIS_URL's db is flushed. Use a
database and a Redis db of your own.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/verbatim_bench")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="verbatim-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    for name in ("ELEVENLABS_API_KEY", "S3_BUCKET", "CELERY_BROKER_URL", "PROGRESS_POLL_SECONDS"):
        os.environ.pop(name, None)
    create_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def children_cpu(pid: int) -> float:
    total = cpu_seconds(pid)
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        total += children_cpu(int(child))
    return total


def run_batch(
    fake,
    *,
    jobs: int,
    pool: str,
    concurrency: int,
    processes: int = 1,
    extra_env: dict | None = None,
    on_start=None,
    extra_seconds: float = 0.0,
) -> dict:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from tests import support
    from transcripts.engines import TranscriptionOptions
    from transcripts.engines.registry import queue_for
    from transcripts.jobs.queue import enqueue
    from transcripts.models import Media, Status, Transcript

    user, _ = get_user_model().objects.get_or_create(username="bench-scribe")
    Transcript.objects.filter(owner=user).delete()
    Media.objects.filter(owner=user).delete()
    name = default_storage.save(f"media/bench/{pool}.wav", ContentFile(b"RIFF" + bytes(32 * 1024)))
    media = Media.objects.create(
        owner=user,
        file=name,
        original_name="bench.wav",
        extension=".wav",
        size=32 * 1024,
        format_name="wav",
        duration=60,
        channels=1,
        sample_rate=16000,
    )
    options = TranscriptionOptions(diarize=True).to_dict()
    rows = Transcript.objects.bulk_create(
        Transcript(owner=user, media=media, title=f"bench {i}", engine="scribe", options=options, duration=60)
        for i in range(jobs)
    )
    overrides = dict(
        DATABASE_URL=os.environ["DATABASE_URL"],
        REDIS_URL=os.environ["REDIS_URL"],
        DATA_DIR=str(settings.DATA_DIR),
        ELEVENLABS_API_KEY=fake.api_key,
        ELEVENLABS_BASE_URL=fake.base_url,
        # The account's limit, shared by every worker process (transcripts/engines/scribe/slots.py).
        SCRIBE_MAX_CONCURRENCY=str(max(concurrency * processes, 1)),
        LOG_LEVEL="WARNING",
        JOB_DB_CONNECTIONS="10",
        # As deployed: DEBUG keeps every SQL query in memory, which costs CPU on each one.
        DEBUG="false",
        SECRET_KEY="bench-" + "x" * 50,
    )
    overrides.update(extra_env or {})
    env = support.process_env(**overrides)
    workers = [
        support.start_worker(env, queue_for("scribe"), concurrency=concurrency, pool=pool, name=f"bench-{pool}-{i}")
        for i in range(processes)
    ]
    try:
        fake.peak_in_flight = 0
        before = len(fake.stt_requests())
        cpu_before = sum(children_cpu(worker.popen.pid) for worker in workers)
        started = time.monotonic()
        if on_start is not None:
            on_start()  # the workers are up: a scenario starts now (bench/scribe_storm.py)
        for row in rows:
            enqueue(row)
        enqueued = time.monotonic() - started
        done = support.wait_until(
            lambda: (
                Transcript.objects.filter(owner=user).exclude(status__in=[Status.QUEUED, Status.TRANSCRIBING]).count()
                == jobs
            ),
            timeout=120 + extra_seconds + 3 * fake.latency * max(jobs / (concurrency * processes), 1),
            interval=0.1,
            message="batch finished (see the worker log in DATA_DIR)",
        )
        wall = time.monotonic() - started
        cpu = sum(children_cpu(worker.popen.pid) for worker in workers) - cpu_before
        statuses = dict.fromkeys(Status.values, 0)
        for status in Transcript.objects.filter(owner=user).values_list("status", flat=True):
            statuses[status] += 1
        arrivals = sorted(r.received_at for r in fake.stt_requests()[before:])
        last_sent = arrivals[-1] - started if arrivals else 0.0
        errors = set(Transcript.objects.filter(owner=user, status=Status.FAILED).values_list("error", flat=True))
        return {
            "jobs": jobs,
            "wall": wall,
            "peak": fake.peak_in_flight,
            "cpu": cpu,
            "done": done,
            "requests": len(fake.stt_requests()) - before,
            "statuses": statuses,
            "errors": errors,
            "last_sent": last_sent,
            "enqueued": enqueued,
        }
    finally:
        for worker in workers:
            worker.stop()
        Transcript.objects.filter(owner=user).delete()
        Media.objects.filter(owner=user).delete()
        default_storage.delete(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--latency", type=float, default=5.0, help="seconds each Scribe request takes (L)")
    parser.add_argument("--threads", type=int, default=500, help="threads of the scribe worker")
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="scribe worker processes on this host (one per core), each with threads/processes threads",
    )
    parser.add_argument("--baseline-jobs", type=int, default=10, help="jobs for the prefork -c 2 baseline")
    args = parser.parse_args()
    # Stopped from outside (timeout, Ctrl-C): still stop the workers it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    setup_django()
    import redis
    from django.conf import settings

    from tests.fakes.scribe import FakeScribe

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    latency = args.latency
    with FakeScribe(latency=latency) as fake:
        baseline = run_batch(fake, jobs=args.baseline_jobs, pool="prefork", concurrency=2)
        threaded = run_batch(
            fake, jobs=args.jobs, pool="threads", concurrency=args.threads // args.processes, processes=args.processes
        )
    print(f"fake Scribe latency L = {latency:.1f} s; {os.cpu_count()} cores")
    for label, result in (
        ("prefork -c 2 (baseline)", baseline),
        (f"{args.processes} x threads -c {args.threads // args.processes}", threaded),
    ):
        print(
            f"{label:26s} jobs={result['jobs']:4d}  wall={result['wall']:7.2f} s"
            f"  wall/L={result['wall'] / latency:6.2f}  peak in flight={result['peak']:4d}"
            f"  requests={result['requests']:4d}  worker CPU/job={1000 * result['cpu'] / result['jobs']:6.1f} ms"
            f"  all enqueued after {result['enqueued']:.2f} s, last request sent after {result['last_sent']:.2f} s"
            "  statuses=" + ",".join(f"{k}:{v}" for k, v in result["statuses"].items() if v)
        )
        for error in result["errors"]:
            print("   failed:", error)
    per_job_prefork = baseline["wall"] / baseline["jobs"]
    print(
        f"prefork -c 2 extrapolated to {args.jobs} jobs: {per_job_prefork * args.jobs / latency:.1f} x L;"
        f" threads: {threaded['wall'] / latency:.2f} x L"
        f" ({per_job_prefork * args.jobs / threaded['wall']:.0f}x faster)"
    )


if __name__ == "__main__":
    main()
