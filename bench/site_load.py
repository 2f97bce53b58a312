"""The production-mode load test's latencies, production against embedded.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/verbatim REDIS_URL=redis://127.0.0.1:6379/13 \\
        python -m bench.site_load [--clients 50] [--seconds 30]

The load of tests/test_production_load.py (tests/load.py): every signed-in
person at once, as fast as the site answers, loads the library, their
transcript's page and, one round in six, uploads a one-second recording.
It runs against the web server of each mode in turn, started by its own
command:

- production: `manage.py serve --production --only web` on Postgres (a
  throw-away `<name>_bench_site` database next to DATABASE_URL's, dropped
  at the end) and Redis, DEBUG off, collected static files, pooled
  connections;
- embedded: `manage.py serve --no-worker` with nothing configured (`make
  run`): SQLite and the filesystem broker in a throw-away data dir, DEBUG off.

Only the web server runs (no worker takes the uploaded jobs), so both
measure serving. Printed: p50 and p99 per kind of request, and embedded's
over production's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import load, support  # noqa: E402
from tests.media_corpus import silent_wav  # noqa: E402

SECRET_KEY = "bench-site-load-" + "k3y" * 20
KINDS = ("library", "page", "upload")


def seed(count: int) -> None:
    """In the site's own settings (a child process): `count` people, each
    with a session and a finished transcript, printed as JSON."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from tests import web
    from tests.transcripts.factories import done_transcript, sentence_data

    visitors = []
    for number in range(count):
        person = get_user_model().objects.create_user(f"load{number}", f"load{number}@example.com")
        transcript = done_transcript(person, sentence_data("the quarterly numbers look good this time"))
        visitors.append({"session": web.session_cookie(person), "transcript_id": transcript.pk})
    print(json.dumps(visitors))


def seeded_visitors(env: dict[str, str], count: int) -> list[load.Visitor]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.site_load", "--seed", str(count)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return [load.Visitor(**visitor) for visitor in json.loads(result.stdout.strip().splitlines()[-1])]


def serve(env: dict[str, str], *arguments: str) -> tuple[str, support.Process]:
    port = support.free_port()
    server = support.Process(
        [sys.executable, "manage.py", "serve", "--port", str(port), *arguments], env, f"serve-{port}"
    )
    base_url = f"http://127.0.0.1:{port}"
    support.wait_for_http(base_url + "/", timeout=180)
    return base_url, server


def measure(env: dict[str, str], arguments: list[str], clients: int, seconds: float, upload: Path):
    base_url, server = serve(env, *arguments)
    try:
        visitors = seeded_visitors(env, clients)
        load.run_load(base_url, visitors[:5], 3, None)  # warm the server's caches and imports
        result = load.run_load(base_url, visitors, seconds, upload)
    finally:
        server.stop(timeout=30)
    if result.failures:
        print(f"  {len(result.failures)} failed, e.g. {result.failures[:3]}")
    return result


class ThrowAwayDatabase:
    """`<name>_bench_site` next to the database DATABASE_URL names."""

    def __init__(self, url: str):
        self.server_url, _, name = url.rpartition("/")
        self.name = f"{name or 'verbatim'}_bench_site"
        self.url = f"{self.server_url}/{self.name}"

    def _admin(self, statement: str) -> None:
        with psycopg.connect(f"{self.server_url}/postgres", autocommit=True) as connection:
            connection.execute(statement)

    def __enter__(self) -> str:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self.url

    def __exit__(self, *exc) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def production_env(data_dir: Path, database_url: str, redis_url: str) -> dict[str, str]:
    return support.process_env(
        DATA_DIR=str(data_dir),
        STATIC_ROOT=str(data_dir / "static"),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DEBUG="false",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        QUOTA_ACTIVE_JOBS="10000",
    )


def embedded_env(data_dir: Path) -> dict[str, str]:
    env = support.embedded_env(data_dir, QUOTA_ACTIVE_JOBS="10000")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return env


def line(name: str, result: load.LoadResult) -> str:
    parts = [f"{name:<11} {result.requests:6} requests, {len(result.failures)} failed"]
    for kind in KINDS:
        p50, p99 = (1000 * result.percentile(kind, fraction) for fraction in (0.5, 0.99))
        parts.append(f"{kind} p50 {p50:7.1f} ms p99 {p99:7.1f} ms")
    return " | ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.seed:
        seed(options.seed)
        return

    import os

    from django.conf import settings

    settings.configure()  # tests/load.py reads the cookie names (Django's defaults)
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/verbatim")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    scratch = Path(tempfile.mkdtemp(prefix="verbatim-bench-site-"))
    upload = scratch / "note.wav"
    upload.write_bytes(silent_wav(1.0))
    print(f"{options.clients} signed-in clients for {options.seconds:g} s per mode: library, transcript page, uploads")
    results = {}
    try:
        with ThrowAwayDatabase(database_url) as url:
            (scratch / "production").mkdir()
            results["production"] = measure(
                production_env(scratch / "production", url, redis_url),
                ["--production", "--only", "web"],
                options.clients,
                options.seconds,
                upload,
            )
        (scratch / "embedded").mkdir()
        results["embedded"] = measure(
            embedded_env(scratch / "embedded"), ["--no-worker"], options.clients, options.seconds, upload
        )
    finally:
        subprocess.run(["rm", "-rf", str(scratch)], check=False)
    for name, result in results.items():
        print(line(name, result))
    production, embedded = results["production"], results["embedded"]
    for kind in KINDS:
        ratios = [
            f"{q} {embedded.percentile(kind, fraction) / production.percentile(kind, fraction):5.2f}x"
            for q, fraction in (("p50", 0.5), ("p99", 0.99))
        ]
        print(f"embedded / production, {kind:<8} " + ", ".join(ratios))
    print(f"throughput: embedded {embedded.requests / production.requests:.2f}x production's requests")


if __name__ == "__main__":
    main()
