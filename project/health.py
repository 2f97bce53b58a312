"""`/healthz`: is this process able to serve? For compose, load balancers
and orchestrators: no sign-in, cheap, and bounded in time.

Each dependency (the database, the Celery broker, media storage) is checked
in a thread of its own under one deadline, so a hung service answers
"timeout" instead of hanging the probe. 200 when all are fine, 503
otherwise. Only "ok", "error" or "timeout" is shown (the caller is
anonymous); the reason goes to the log.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

log = logging.getLogger(__name__)

PATH = "/healthz"
# The whole probe answers within this long.
DEADLINE_SECONDS = 3.0
# Checks run here, not in the request's thread; a check still stuck past the
# deadline finishes (or times out in its own client) in the background.
_checks = ThreadPoolExecutor(max_workers=6, thread_name_prefix="healthz")


def check_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()  # a pooled connection goes back to its pool


def check_broker() -> None:
    from project.celery import app

    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=DEADLINE_SECONDS)


def check_storage() -> None:
    if isinstance(default_storage, FileSystemStorage):
        if not os.access(default_storage.location, os.W_OK):
            raise OSError(f"{default_storage.location} is not writable")
        return
    default_storage.exists(".healthz")  # a HEAD on the bucket: a missing key is no error


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
}


def run_checks(checks: dict[str, Callable[[], None]] = CHECKS, deadline: float = DEADLINE_SECONDS) -> dict:
    started = time.monotonic()
    futures = {name: _checks.submit(check) for name, check in checks.items()}
    results = {}
    for name, future in futures.items():
        try:
            future.result(timeout=max(deadline - (time.monotonic() - started), 0))
            results[name] = "ok"
        except FutureTimeout:
            log.warning("Health check %s: no answer within %.1f s", name, deadline)
            results[name] = "timeout"
        except Exception:
            log.warning("Health check %s failed", name, exc_info=True)
            results[name] = "error"
    return results


class HealthzMiddleware:
    """Answers /healthz first of all: a probe from inside a container or a
    cluster asks by IP over plain HTTP, which the host check (ALLOWED_HOSTS)
    and the HTTPS redirect further down would refuse."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path == PATH:
            return healthz(request)
        return self.get_response(request)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    healthy = all(state == "ok" for state in checks.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503)
