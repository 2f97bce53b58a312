"""What every page's navigation needs to know about accounts."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts import signup


def signup_links(request: HttpRequest) -> dict:
    """`signup_open`: whether to offer "Sign up" to a visitor. Only when anyone
    may (an invite link carries its own URL); evaluated lazily, so pages for
    signed-in people never run its query."""
    return {"signup_open": SimpleLazyObject(lambda: signup.policy() == signup.Policy.OPEN)}
