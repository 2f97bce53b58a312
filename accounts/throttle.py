"""Throttling what login lockout (django-axes) does not see: password-reset
requests, counted per client address and per email address asked about, in
the shared cache (django-ratelimit). Logins are throttled by axes itself
(settings: AXES_*), on every form that calls authenticate()."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import is_ratelimited

RESET_GROUP = "password-reset"


def address_key(group: str, request: HttpRequest) -> str:
    return request.POST.get("email", "").strip().lower()


def reset_limited(request: HttpRequest) -> bool:
    """Count this reset request; True once either limit is passed. Both
    limits count whether or not an account uses the address, so being
    throttled tells nothing about who has an account."""
    checks = (("ip", settings.PASSWORD_RESET_RATE_PER_CLIENT), (address_key, settings.PASSWORD_RESET_RATE_PER_ADDRESS))
    limited = [
        is_ratelimited(request, group=f"{RESET_GROUP}-{index}", key=key, rate=rate, method="POST", increment=True)
        for index, (key, rate) in enumerate(checks)
    ]
    return any(limited)


def unlock_account(username: str) -> None:
    """A password reset proves the account is its owner's: lift the lockout
    of that account, so someone who locks it out cannot keep its owner out."""
    from axes.handlers.proxy import AxesProxyHandler

    AxesProxyHandler.reset_attempts(username=username)


def lockout_response(request: HttpRequest, *args) -> HttpResponse:
    """The page for a login refused by the lockout (AXES_LOCKOUT_CALLABLE)."""
    pause_refusal()
    context = {"failure_limit": settings.LOGIN_FAILURE_LIMIT, "minutes": f"{settings.LOGIN_LOCKOUT_MINUTES:g}"}
    return render(request, "registration/locked_out.html", context, status=429)


def pause_refusal() -> None:
    """Answer a refused login or reset only after a pause. The lockout spares
    the password hash, not the request: a flood of refusals answered at once
    still cost a request's work each, dozens a second per connection. Paused,
    each connection gets one every few seconds. The database connection goes
    back to the pool first; the pause holds only this request's thread (each
    request has its own under ASGI)."""
    if settings.REFUSED_LOGIN_DELAY_SECONDS:
        connections.close_all()
        time.sleep(settings.REFUSED_LOGIN_DELAY_SECONDS)
