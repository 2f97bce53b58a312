"""`manage.py serve`: the whole site in one command.

Starts Daphne (HTTP and WebSockets), the Celery workers (the local-engine
queue sized to the cores; a thread pool for the I/O-bound Scribe queue) and
beat (the sweeper's schedule, exactly one per site), prints the URL, keeps
them running (project/supervisor.py) and stops them all together.

`--production` (make serve-production) is the same on a team's services:
it refuses the embedded settings, migrates and collects the static files
first. `--only` runs some of the programs (one container each, say); beat
still runs only under the site's beat lock.
"""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

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


PROGRAMS = ("web", "worker-cpu", "worker-io", "beat")


def production_problems() -> list[str]:
    problems = []
    if settings.DEBUG:
        problems.append("DEBUG is on: unset it (or set DEBUG=false).")
    if not settings.DATABASE_URL.startswith(("postgres://", "postgresql://")):
        problems.append("DATABASE_URL must name the PostgreSQL database (postgres://user:password@host:5432/name).")
    if not settings.REDIS_URL:
        problems.append("REDIS_URL must name the Redis server (redis://host:6379/0).")
    return problems


def prepare_production() -> None:
    """Migrate and collect the static files, each in a process of its own:
    the supervisor must start its children from a process with no threads
    (a database pool would start some)."""
    for step in (["migrate", "--noinput"], ["collectstatic", "--noinput", "--verbosity", "0"]):
        if subprocess.run([sys.executable, str(settings.BASE_DIR / "manage.py"), *step], check=False).returncode:  # noqa: S603
            raise CommandError(f"manage.py {' '.join(step)} failed; see above. Nothing was started.")


class Command(BaseCommand):
    help = "Run the web server, the workers and beat together, restarting any that dies."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="Only the web server.")
        parser.add_argument(
            "--production",
            action="store_true",
            help="On Postgres and Redis with DEBUG off: migrate and collect static files, then start.",
        )
        parser.add_argument(
            "--only", action="append", choices=PROGRAMS, help="Run only this program (repeat for several)."
        )

    def handle(self, *args, host: str, port: int, no_worker: bool, production: bool, only, **options):
        if production:
            if problems := production_problems():
                raise CommandError("Not production settings:\n  - " + "\n  - ".join(problems))
            prepare_production()
        wanted = set(only or (["web"] if no_worker else PROGRAMS))
        everything = [web_program(host, port), *worker_programs(), beat_program()]
        programs = [program for program in everything if program.name in wanted]
        supervisor = Supervisor(programs, site_beat_lock() if "beat" in wanted else None)
        if "web" in wanted:
            url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}/"  # noqa: S104
            self.stdout.write(self.style.SUCCESS(f"Verbatim is running at {url}  (Ctrl-C stops it)"))
        else:
            self.stdout.write(f"Running {', '.join(sorted(wanted))} (Ctrl-C stops it)")
        self.stdout.flush()
        if code := supervisor.run():
            sys.exit(code)
