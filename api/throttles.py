"""Per-user rates on what is costly: creating transcripts, minting tokens,
searching (DRF throttling, counted in the cache: Redis, or files in the
embedded mode)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import ScopedRateThrottle


class UserScopedThrottle(ScopedRateThrottle):
    """A view's `throttle_scope`, counted per user, applied to the methods in
    its `throttled_methods` (default: only those that change something)."""

    def allow_request(self, request, view) -> bool:
        methods = getattr(view, "throttled_methods", None)
        if methods is None:
            methods = {"POST", "PUT", "PATCH", "DELETE"}
        if request.method not in methods:
            return True
        return super().allow_request(request, view)

    def get_rate(self) -> str:
        # Read when used (API_RATE_CREATE, API_RATE_TOKENS, API_RATE_SEARCH), not at import.
        return getattr(settings, f"API_RATE_{self.scope.upper()}")


def check(request, scope: str) -> float | None:
    """For views outside DRF (the compatible endpoints): None when the
    request may go on, else the seconds to wait."""

    class View:
        throttle_scope = scope
        throttled_methods = {request.method}

    throttle = UserScopedThrottle()
    if throttle.allow_request(request, View()):
        return None
    return throttle.wait() or 1.0
