"""The answer when a request fails on our side: a 503 when the database is
unreachable (a hung or refusing server fails within the pool's timeout),
a friendly 500 otherwise. Installed as Django's handler500, which runs
inside the failed request's `except` block, so the error is at hand. Never
touches the database itself."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from project.refusals import refusal

# Seconds a client should wait before trying again.
RETRY_AFTER_SECONDS = 30
DATABASE_DOWN = "The database is not answering right now, so this page cannot be shown. Try again in a minute."
SERVER_ERROR = "Something went wrong on our side. It has been logged; try again, or tell the administrator."


def database_unavailable(error: BaseException | None) -> bool:
    return isinstance(error, OperationalError | InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    if database_unavailable(sys.exc_info()[1]):
        return refusal(
            request, 503, "database_unavailable", DATABASE_DOWN, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
    return refusal(request, 500, "server_error", SERVER_ERROR)
