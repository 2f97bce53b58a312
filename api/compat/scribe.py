"""ElevenLabs Scribe on Verbatim: the batch endpoints the official SDKs
call, with Scribe's fields, answers and errors (../shared/scribe-api.md).
`xi-api-key` is a Verbatim API token. Each request is a transcript in the
caller's library, run on this server's engine (local, or Scribe itself).

- `POST /v1/speech-to-text`: waits for the transcript and answers it, or
  with `webhook=true` answers at once and delivers the result to the
  caller's webhooks (`speech_to_text_transcription`, signed like ElevenLabs).
- `GET` / `DELETE /v1/speech-to-text/transcripts/{id}`.
- `POST /v1/single-use-token/{realtime_scribe|batch_scribe}`.
"""

from __future__ import annotations

import time
import uuid

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods, require_POST

from api import throttles, uploads
from api.authentication import bearer_secret, token_user
from api.compat import scribe_shapes
from api.compat.contract import ContractError, contract_view
from api.models import ScribeRequest, SocketPurpose, SocketToken, WebhookEndpoint, WebhookEvent
from transcripts import services
from transcripts.models import ACTIVE_STATUSES, Status, Transcript

ACCEPTED = "Request accepted. Transcription result will be sent to the webhook."
TOKEN_TYPES = (SocketPurpose.REALTIME_SCRIBE, SocketPurpose.BATCH_SCRIBE)
# How often a synchronous request looks at its job: soon at first, then calmer.
FIRST_POLL_SECONDS, MAX_POLL_SECONDS = 0.05, 0.2


class ScribeError(ContractError):
    pass


def error_response(error: ContractError) -> JsonResponse:
    """Scribe's envelope: {"detail": {type, code, message, status, request_id, param}}."""
    kind = "authentication_error" if error.status == 401 else "validation_error" if error.status < 500 else "error"
    detail = {
        "type": kind if error.status != 429 else "rate_limit_error",
        "code": error.code,
        "message": str(error),
        "status": error.code,
        "request_id": uuid.uuid4().hex,
        "param": error.param,
    }
    response = JsonResponse({"detail": detail}, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def missing(field: str) -> JsonResponse:
    """FastAPI's 422 for a missing field, as Scribe answers it."""
    return JsonResponse(
        {"detail": [{"type": "missing", "loc": ["body", field], "msg": "Field required", "input": None}]}, status=422
    )


scribe_endpoint = contract_view(error_response)


def authenticate(request: HttpRequest, *, batch_token: bool = False, writes: bool = True):
    """The caller, from `xi-api-key`, a Bearer token or (for one batch
    request) a single-use `batch_scribe` token in `?token=`."""
    if batch_token and request.GET.get("token"):
        user = SocketToken.consume(request.GET["token"], SocketPurpose.BATCH_SCRIBE)
        if user is None:
            raise ScribeError(401, "invalid_token", "This single-use token is not valid (unknown, used or expired).")
        return user
    secret = request.headers.get("xi-api-key") or bearer_secret(request.headers.get("Authorization", ""))
    found = token_user(secret) if secret else None
    if found is None:
        raise ScribeError(401, "invalid_api_key", "Invalid API key")
    user, token = found
    if writes and token.read_only:
        raise ScribeError(401, "missing_permissions", "This API key is read-only.")
    return user


def throttled(request: HttpRequest, user, scope: str) -> None:
    request.user = user
    wait = throttles.check(request, scope)
    if wait is not None:
        raise ScribeError(
            429, "rate_limit_exceeded", "Too many requests; try again later.", headers={"Retry-After": str(int(wait))}
        )


# --- POST /v1/speech-to-text ---------------------------------------------------------------


@scribe_endpoint
@require_POST
def speech_to_text(request: HttpRequest) -> JsonResponse:
    user = authenticate(request, batch_token=True)
    throttled(request, user, "create")
    if not (request.POST.get("model_id") or "").strip():
        return missing("model_id")
    for remote in ("source_url", "cloud_storage_url"):
        if (request.POST.get(remote) or "").strip() not in ("", "null"):
            raise ScribeError(
                400, "invalid_parameters", f"Send the file itself: {remote} is not supported here.", param=remote
            )
    if request.POST.get("file_format", "other") != "other":
        raise ScribeError(
            400,
            "invalid_parameters",
            "Only file_format=other is supported: send a WAV for raw PCM.",
            param="file_format",
        )
    if "file" not in request.FILES and not getattr(request, "upload_too_large", False):
        return missing("file")
    try:
        asked = scribe_shapes.read_form(request.POST)
    except scribe_shapes.Invalid as invalid:
        raise ScribeError(400, invalid.code, str(invalid), param=invalid.param) from None
    endpoint = webhook_endpoint(user, asked) if asked.webhook else None
    request_id = uuid.uuid4().hex

    def remember(transcript: Transcript) -> None:
        ScribeRequest.objects.create(
            transcript=transcript,
            request_id=request_id,
            webhook=asked.webhook,
            webhook_endpoint=endpoint,
            webhook_metadata=asked.webhook_metadata,
            additional_formats=asked.additional_formats,
            multichannel_style=asked.multichannel_style,
        )

    outcome = uploads.create(request, user, asked.form_data, overrides=asked.extra_options, then=remember)
    transcript = outcome.transcript
    if asked.webhook:
        return JsonResponse({"message": ACCEPTED, "request_id": request_id, "transcription_id": str(transcript.pk)})
    return JsonResponse(finished_response(wait_for_end(transcript.pk)))


def webhook_endpoint(user, asked: scribe_shapes.ScribeForm) -> WebhookEndpoint | None:
    """The endpoint named by `webhook_id`, else None (every subscribed one);
    refused when nothing would receive the result."""
    endpoints = WebhookEndpoint.objects.filter(owner=user, active=True)
    if asked.webhook_id:
        endpoint = endpoints.filter(pk=int(asked.webhook_id)).first() if asked.webhook_id.isdigit() else None
        if endpoint is None:
            raise ScribeError(400, "webhook_not_found", "No such webhook on your account.", param="webhook_id")
        return endpoint
    if not any(endpoint.wants(WebhookEvent.SCRIBE_TRANSCRIPTION) for endpoint in endpoints):
        raise ScribeError(
            400,
            "webhook_not_configured",
            "No webhook on your account receives speech_to_text_transcription events: add one on the account page.",
            param="webhook",
        )
    return None


def wait_for_end(transcript_id: int) -> Transcript:
    """Hold the request until the job ends, as Scribe does. The pooled
    database connection is handed back between looks."""
    deadline = time.monotonic() + settings.TASK_TIME_LIMIT_SECONDS
    interval = FIRST_POLL_SECONDS
    while True:
        transcript = Transcript.objects.filter(pk=transcript_id).select_related("scribe_request").first()
        if transcript is None:
            raise ScribeError(404, "not_found_error", "The transcript was deleted while it was being made.")
        if transcript.status not in ACTIVE_STATUSES or time.monotonic() > deadline:
            return transcript
        connection.close()
        time.sleep(interval)
        interval = min(interval * 1.5, MAX_POLL_SECONDS)


def finished_response(transcript: Transcript) -> dict:
    if transcript.status == Status.DONE:
        return scribe_shapes.response_for(transcript, getattr(transcript, "scribe_request", None))
    if transcript.status == Status.CANCELLED:
        raise ScribeError(400, "transcription_cancelled", "The transcription was cancelled.")
    if transcript.status == Status.FAILED:
        raise ScribeError(400, "transcription_failed", transcript.error or "The transcription failed.")
    raise ScribeError(504, "timeout", "The transcription did not finish in time; it goes on in your library.")


# --- stored transcripts ---------------------------------------------------------------------


@scribe_endpoint
@require_http_methods(["GET", "DELETE"])
def transcript(request: HttpRequest, transcription_id: str) -> JsonResponse:
    user = authenticate(request, writes=request.method == "DELETE")
    found = owned(user, transcription_id)
    if request.method == "DELETE":
        services.delete(found)
        return JsonResponse({})
    if found.status != Status.DONE:
        raise ScribeError(404, "not_found_error", "Transcript not found.")
    return JsonResponse(scribe_shapes.response_for(found, getattr(found, "scribe_request", None)))


def owned(user, transcription_id: str) -> Transcript:
    found = None
    if transcription_id.isdigit() and len(transcription_id) < 19:
        found = (
            Transcript.objects.owned_by(user)
            .select_related("media", "scribe_request")
            .filter(pk=int(transcription_id))
            .first()
        )
    if found is None:
        raise ScribeError(404, "not_found_error", "Transcript not found.")
    return found


# --- single-use tokens ------------------------------------------------------------------------


@scribe_endpoint
@require_POST
def single_use_token(request: HttpRequest, token_type: str) -> JsonResponse:
    user = authenticate(request)
    if token_type not in TOKEN_TYPES:
        return JsonResponse(
            {
                "detail": [
                    {
                        "type": "enum",
                        "loc": ["path", "token_type"],
                        "msg": "Input should be 'realtime_scribe' or 'batch_scribe'",
                        "input": token_type,
                    }
                ]
            },
            status=422,
        )
    throttled(request, user, "tokens")
    _, secret = SocketToken.issue(user, token_type)
    return JsonResponse({"token": secret})
