"""The endpoint ElevenLabs calls when a webhook-mode transcription is done.
The delivery is verified (transcripts.engines.scribe.webhook) before anything
else; a verified one finishes its job through `finish`, which stores one
result per job, so a repeated delivery (or ten at once) changes nothing
after the first."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from transcripts.engines.scribe import webhook
from transcripts.jobs.runner import finish
from transcripts.models import Transcript

log = logging.getLogger(__name__)


@csrf_exempt
@login_not_required
@require_POST
def scribe_webhook(request: HttpRequest) -> JsonResponse:
    secrets = settings.SCRIBE_WEBHOOK_SECRETS
    if not secrets:
        return JsonResponse({"error": "Webhooks are not configured."}, status=404)
    body = request.body
    if not webhook.verify_signature(request.headers.get(webhook.SIGNATURE_HEADER, ""), body, secrets):
        return JsonResponse({"error": "Invalid signature."}, status=401)
    try:
        payload = json.loads(body)
    except ValueError:
        return JsonResponse({"error": "The body is not JSON."}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"error": "Unexpected payload."}, status=400)
    result = webhook.webhook_result(payload)
    transcript_id = webhook.webhook_transcript_id(payload)
    if result is None or transcript_id is None:
        # Signed, but not a transcription of ours (another event type, or a
        # request made elsewhere with the same webhook): nothing to do.
        return JsonResponse({"status": "ignored"})
    if not Transcript.objects.filter(pk=transcript_id, engine="scribe").exists():
        return JsonResponse({"status": "ignored"})
    finished = finish(transcript_id, result)
    log.info("Scribe webhook for transcript %s: %s", transcript_id, "stored" if finished else "already handled")
    return JsonResponse({"status": "stored" if finished else "duplicate"})
