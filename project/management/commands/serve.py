"""`manage.py serve`: the whole site in one command.

Starts Daphne (HTTP and WebSockets), the Celery workers (the local-engine
queue sized to the cores; a thread pool for the I/O-bound Scribe queue) and
beat (the sweeper's schedule, exactly one per site), prints the URL, keeps
them running (project/supervisor.py) and stops them all together.
"""

from __future__ import annotations

import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from project import beat_lock
from project.supervisor import Program, Supervisor

CELERY = [sys.executable, "-m", "celery", "-A", "project"]


def worker_programs(loglevel: str = "INFO") -> list[Program]:
    worker = [*CELERY, "worker", f"--loglevel={loglevel}"]
    local_concurrency = settings.LOCAL_STT_CONCURRENCY or os.cpu_count() or 1
    return [
        Program("worker-cpu", [*worker, "-Q", "cpu,default", "-c", str(local_concurrency), "-n", "cpu@%h"]),
        Program(
            "worker-io",
            [*worker, "-Q", "io", "-P", "threads", "-c", str(settings.SCRIBE_WORKER_THREADS), "-n", "io@%h"],
        ),
    ]


def beat_program(loglevel: str = "INFO") -> Program:
    schedule = str(settings.DATA_DIR / "celerybeat-schedule")
    return Program("beat", [*CELERY, "beat", f"--loglevel={loglevel}", "-s", schedule], needs_beat_lock=True)


def web_program(host: str, port: int) -> Program:
    return Program("web", [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "project.asgi:application"])


def site_beat_lock() -> beat_lock.BeatLock:
    broker = settings.CELERY_BROKER_URL
    redis_url = settings.REDIS_URL or (broker if broker.startswith(("redis://", "rediss://", "unix://")) else "")
    return beat_lock.for_site(redis_url, settings.DATA_DIR)


class Command(BaseCommand):
    help = "Run the web server, the workers and beat together, restarting any that dies."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="Only the web server.")

    def handle(self, *args, host: str, port: int, no_worker: bool, **options):
        programs = [web_program(host, port)]
        if not no_worker:
            programs += [*worker_programs(), beat_program()]
        supervisor = Supervisor(programs, None if no_worker else site_beat_lock())
        url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}/"  # noqa: S104
        self.stdout.write(self.style.SUCCESS(f"Verbatim is running at {url}  (Ctrl-C stops it)"))
        self.stdout.flush()
        if code := supervisor.run():
            sys.exit(code)
