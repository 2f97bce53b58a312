"""NUL characters are refused in every text a request carries (its path,
query string, form fields and JSON), with a message. Postgres cannot store
them in text, so they used to surface as a 500 from names, edits and
search. Form fields are checked whether sent urlencoded or as multipart
(parsing a multipart body here is the parse the view would do: Django and
DRF keep its result); bodies that are not text (tus pieces) are not read."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from project.refusals import refusal

NUL = "\x00"
MESSAGE = "Text may not contain NUL characters (\\0). Remove them and try again."


def holds_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(holds_nul(item) for item in value)
    return False


def _query_or_form_has_nul(data) -> bool:
    return any(NUL in key or any(NUL in value for value in data.getlist(key)) for key in data)


def _json_has_nul(body: bytes) -> bool:
    if b"\\u0000" not in body.lower() and b"\x00" not in body:
        return False  # the common case, without parsing
    try:
        return holds_nul(json.loads(body))
    except ValueError:
        return False  # not JSON after all: the view refuses it as it would


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def request_has_nul(request: HttpRequest) -> bool:
    if NUL in request.path or _query_or_form_has_nul(request.GET):
        return True
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return False
    content_type = request.content_type or ""
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _query_or_form_has_nul(request.POST)
    if content_type == "application/json" or content_type.endswith("+json"):
        # Past Django's in-memory limit, reading `body` would refuse what a
        # view streaming the body accepts: such a body is left to the view.
        if _declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return False
        return _json_has_nul(request.body)
    return False


class RefuseNulCharacters:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request_has_nul(request):
            return refusal(request, 400, "nul_character", MESSAGE)
        return self.get_response(request)
