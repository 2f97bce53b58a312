"""The Content-Security-Policy every response carries.

Scripts and styles come only from the site's own files: no inline scripts,
no inline event handlers (`onclick=`), no inline styles, no `eval`, so
markup that slips into a page (a transcript's words, a speaker's name) can
never run. Sockets may open to the site's own host (ws/wss, named
explicitly for browsers whose 'self' does not cover them). The API's
documentation pages (Swagger UI, Redoc, vendored) inject their own styles:
they alone may use inline styles, never inline scripts.
"""

from __future__ import annotations

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

BASE = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob:",
    "font-src": "'self'",
    "worker-src": "'self' blob:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Pages of vendored documentation UIs whose scripts add <style> elements.
INLINE_STYLE_PATHS = ("/api/docs/", "/api/redoc/")


def policy_for(request: HttpRequest) -> str:
    directives = dict(BASE)
    try:
        host = request.get_host()
    except DisallowedHost:
        host = ""
    directives["connect-src"] = f"'self' ws://{host} wss://{host}" if host else "'self'"
    if request.path.startswith(INLINE_STYLE_PATHS):
        directives["style-src"] = "'self' 'unsafe-inline'"
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class ContentSecurityPolicy:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy_for(request)
        return response
