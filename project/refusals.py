"""Answers for requests refused before any view runs, in the shape the
client reads: problem details for the API, `{"error": ...}` for the pages'
scripts, a small standalone page for a browser. Nothing here touches the
database (the 503 is sent when it is down)."""

from __future__ import annotations

import logging
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.html import escape

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/v1/")
PROBLEM_CONTENT_TYPE = "application/problem+json"


def refusal(request: HttpRequest, status: int, code: str, message: str, headers: dict | None = None) -> HttpResponse:
    response = _body(request, status, code, message)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _body(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    if request.path.startswith(API_PREFIXES):
        problem = {
            "type": f"urn:verbatim:problem:{code}",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": message,
            "code": code,
            "instance": request.path,
        }
        return JsonResponse(problem, status=status, content_type=PROBLEM_CONTENT_TYPE)
    if "json" in request.headers.get("Accept", "") or "json" in (request.content_type or ""):
        return JsonResponse({"error": message}, status=status)
    return HttpResponse(error_page(HTTPStatus(status).phrase, message), status=status)


def error_page(title: str, message: str) -> str:
    try:
        return render_to_string("error.html", {"title": title, "message": message})
    except Exception:  # an error page must not fail: say it without the site's look
        log.exception("The error page could not be rendered")
        title, message = escape(title), escape(message)
        return f"<!doctype html><html lang=en><title>{title}</title><h1>{title}</h1><p>{message}</p></html>"
