"""`manage.py serve`: the whole site in one command.

Starts Daphne (HTTP and WebSockets) and the Celery workers (the local-engine
queue sized to the cores, with the sweeper's beat; a thread pool for the
I/O-bound Scribe queue), prints the URL, and stops them all together.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


def worker_commands(loglevel: str = "INFO") -> list[list[str]]:
    celery = [sys.executable, "-m", "celery", "-A", "project", "worker", f"--loglevel={loglevel}"]
    local_concurrency = settings.LOCAL_STT_CONCURRENCY or os.cpu_count() or 1
    return [
        celery
        + [
            "-Q",
            "cpu,default",
            "-c",
            str(local_concurrency),
            "-n",
            "cpu@%h",
            "-B",
            "-s",
            str(settings.DATA_DIR / "celerybeat-schedule"),
        ],
        celery + ["-Q", "io", "-P", "threads", "-c", str(settings.SCRIBE_WORKER_THREADS), "-n", "io@%h"],
    ]


class Command(BaseCommand):
    help = "Run the web server and the workers together (the embedded mode)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="Only the web server.")

    def handle(self, *args, host: str, port: int, no_worker: bool, **options):
        commands = [[sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "project.asgi:application"]]
        if not no_worker:
            commands += worker_commands()
        children = [subprocess.Popen(command) for command in commands]
        url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}/"  # noqa: S104
        self.stdout.write(self.style.SUCCESS(f"Verbatim is running at {url}  (Ctrl-C stops it)"))
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 20
        for child in children:
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
        if not stopping:
            sys.exit("A process stopped unexpectedly; see the log above.")
