"""A 429 storm on queued Scribe jobs: wall time against the ideal.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/verbatim_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
        python -m bench.scribe_storm [--jobs 100] [--latency 1] [--limit 8] [--storm 20]

N jobs are queued at once to two Celery worker processes (threads, more
than the limit each). The fake Scribe answers each request after L seconds,
refuses every request with 429 (no Retry-After) for the first S seconds of
the batch, and refuses with `concurrent_limit_exceeded` above the account
limit K (the app must never get there). Printed, all measured in this run:
the wall time, the ideal wall time (S + N x L / K: the storm, then the limit
kept full), their ratio, the peak requests in flight at the fake, the 429s
and the jobs failed (must be 0) and transcribed more than once (must be 0).

Uses the database and Redis db named (see bench/scribe_concurrency.py).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from bench.scribe_concurrency import run_batch, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds each Scribe request takes (L)")
    parser.add_argument("--limit", type=int, default=8, help="the account's concurrency limit (K)")
    parser.add_argument("--storm", type=float, default=20.0, help="seconds every request is refused (S)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    setup_django()
    import redis
    from django.conf import settings

    from tests.fakes.scribe import FakeScribe

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    with FakeScribe(latency=args.latency) as fake:
        fake.account_limit = args.limit

        def storm() -> None:
            fake.storm_until = time.monotonic() + args.storm

        env = {
            "SCRIBE_MAX_CONCURRENCY": str(args.limit),
            "SCRIBE_SLOT_WAIT_SECONDS": "0.2",
            "JOB_BUSY_BACKOFF_SECONDS": "0.5",
            "JOB_BUSY_BACKOFF_MAX_SECONDS": "5",
        }
        result = run_batch(
            fake,
            jobs=args.jobs,
            pool="threads",
            concurrency=args.limit,
            processes=2,
            extra_env=env,
            on_start=storm,
            extra_seconds=args.storm,
        )
        refused, accepted = fake.refused, fake.accepted
    ideal = args.storm + args.jobs * args.latency / args.limit
    failed = result["statuses"].get("failed", 0)
    print(f"{args.jobs} jobs, L = {args.latency:.1f} s, limit K = {args.limit}, storm S = {args.storm:.1f} s")
    print(
        f"wall {result['wall']:.1f} s; ideal S + N x L / K = {ideal:.1f} s; ratio {result['wall'] / ideal:.2f}; "
        f"peak in flight {result['peak']} (limit {args.limit}); 429s {refused}; failed {failed}; "
        f"transcribed {accepted} for {args.jobs} jobs"
    )


if __name__ == "__main__":
    main()
