"""Every API error in one envelope: RFC 9457 problem details
(`application/problem+json`), with the same readable sentence the pages
show in `detail`, a stable `code`, and `errors` per field when a form was
refused.

    {"type": "urn:verbatim:problem:validation", "title": "Bad Request",
     "status": 400, "detail": "Choose a file to upload.", "code": "validation",
     "instance": "/api/v1/transcripts"}
"""

from __future__ import annotations

from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ApiProblem(exceptions.APIException):
    """An error with its own status and code, raised from a view."""

    def __init__(self, status_code: int, code: str, detail: str, headers: dict | None = None, **extra):
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.problem_code = code
        self.headers = headers or {}
        self.extra = extra


def conflict(code: str, detail: str, **extra) -> ApiProblem:
    return ApiProblem(status.HTTP_409_CONFLICT, code, detail, **extra)


def precondition_failed(detail: str) -> ApiProblem:
    return ApiProblem(status.HTTP_412_PRECONDITION_FAILED, "precondition_failed", detail)


def precondition_required(detail: str) -> ApiProblem:
    return ApiProblem(428, "precondition_required", detail)


def bad_request(code: str, detail: str, **extra) -> ApiProblem:
    return ApiProblem(status.HTTP_400_BAD_REQUEST, code, detail, **extra)


def not_found(detail: str = "Not found.") -> ApiProblem:
    return ApiProblem(status.HTTP_404_NOT_FOUND, "not_found", detail)


def quota_problem(error: Exception) -> ApiProblem:
    """Past the user's quota (transcripts.quotas): the page's sentence, 403."""
    return ApiProblem(status.HTTP_403_FORBIDDEN, "quota_exceeded", str(error))


def problem_body(status_code: int, code: str, detail: str, instance: str = "", **extra) -> dict:
    body = {
        "type": f"urn:verbatim:problem:{code}",
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


def problem_response(request, status_code: int, code: str, detail: str, headers=None, **extra) -> Response:
    instance = request.path if request is not None else ""
    return Response(
        problem_body(status_code, code, detail, instance, **extra),
        status=status_code,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def plain_problem(request, status_code: int, code: str, detail: str, **extra) -> JsonResponse:
    """The same envelope from a plain Django view (no DRF response)."""
    response = JsonResponse(problem_body(status_code, code, detail, request.path, **extra), status=status_code)
    response["Content-Type"] = PROBLEM_CONTENT_TYPE
    return response


def _validation_detail(errors) -> tuple[str, dict]:
    """One readable sentence and the errors by field."""
    if isinstance(errors, dict):
        fields = {name: [str(message) for message in _as_list(value)] for name, value in errors.items()}
        sentence = " ".join(message for messages in fields.values() for message in messages)
        return sentence or "The request is not valid.", fields
    messages = [str(message) for message in _as_list(errors)]
    return " ".join(messages) or "The request is not valid.", {}


def _as_list(value) -> list:
    if isinstance(value, dict):
        return [f"{key}: {message}" for key, inner in value.items() for message in _as_list(inner)]
    if isinstance(value, list | tuple):
        return [item for entry in value for item in _as_list(entry)]
    return [value]


def exception_handler(exc, context):
    """DRF's exception handler, answering in problem details."""
    request = context.get("request")
    from transcripts.quotas import QuotaExceeded

    if isinstance(exc, QuotaExceeded):
        exc = quota_problem(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) if str(exc) else "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handling (and its logging) takes over
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    headers.update(getattr(exc, "headers", {}))
    extra = dict(getattr(exc, "extra", {}))
    if isinstance(exc, ApiProblem):
        code, detail = exc.problem_code, str(exc.detail)
    elif isinstance(exc, exceptions.ValidationError):
        code = "validation"
        detail, fields = _validation_detail(exc.detail)
        if fields:
            extra["errors"] = fields
    elif isinstance(exc, exceptions.Throttled):
        code = "rate_limited"
        detail = f"Too many requests; try again in {int(exc.wait or 1)} s." if exc.wait else "Too many requests."
    else:
        code = exc.default_code
        detail = str(exc.detail)
    response = problem_response(request, exc.status_code, code, detail, headers=headers or None, **extra)
    if context.get("view") is not None:
        response.exception = True
    return response


def page_not_found(request, exception=None):
    """handler404: the API's unknown URLs (a path parameter of the wrong
    kind, say) answer problem details too; the pages keep Django's page."""
    if request.path.startswith("/api/v1/"):
        return plain_problem(request, 404, "not_found", "Not found.")
    from django.views.defaults import page_not_found as default

    return default(request, exception)
