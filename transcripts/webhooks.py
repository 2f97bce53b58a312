"""The endpoint ElevenLabs calls when a webhook-mode transcription is done.

Every delivery is verified before anything else happens: the
`ElevenLabs-Signature` header (`t=<unix seconds>,v0=<hex>[,v0=<hex>...]`)
must carry an HMAC-SHA256, keyed with one of SCRIBE_WEBHOOK_SECRETS, of
`"{t}.{raw body}"`, compared in constant time, with `t` at most 30 minutes
old and at most 5 minutes in the future (the official SDK checks only the
past, and not in constant time). Several `v0` entries and several secrets
are accepted so a secret can be rotated. A verified delivery finishes its
job through `services.finish`, which stores one result per job, so a
repeated delivery (or ten at once) changes nothing after the first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from transcripts import services
from transcripts.engines import scribe
from transcripts.models import Engine, Transcript

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "ElevenLabs-Signature"
TOLERANCE_PAST_SECONDS = 30 * 60
TOLERANCE_FUTURE_SECONDS = 5 * 60


def verify_signature(header: str, body: bytes, secrets: list[str], *, now: float | None = None) -> bool:
    """True when `header` signs `body` with one of `secrets`, within the time tolerance."""
    items = [item.strip() for item in (header or "").split(",")]
    stamps = [item[2:] for item in items if item.startswith("t=")]
    signatures = [item[3:] for item in items if item.startswith("v0=")]
    if len(stamps) != 1 or not signatures or not secrets:
        return False
    try:
        timestamp = int(stamps[0])
    except ValueError:
        return False
    now = time.time() if now is None else now
    if not now - TOLERANCE_PAST_SECONDS <= timestamp <= now + TOLERANCE_FUTURE_SECONDS:
        return False
    signed = stamps[0].encode() + b"." + body
    valid = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        for signature in signatures:
            # No early exit: every comparison is made, each in constant time.
            valid |= hmac.compare_digest(expected, signature)
    return valid


@csrf_exempt
@login_not_required
@require_POST
def scribe_webhook(request: HttpRequest) -> JsonResponse:
    secrets = settings.SCRIBE_WEBHOOK_SECRETS
    if not secrets:
        return JsonResponse({"error": "Webhooks are not configured."}, status=404)
    body = request.body
    if not verify_signature(request.headers.get(SIGNATURE_HEADER, ""), body, secrets):
        return JsonResponse({"error": "Invalid signature."}, status=401)
    try:
        payload = json.loads(body)
    except ValueError:
        return JsonResponse({"error": "The body is not JSON."}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"error": "Unexpected payload."}, status=400)
    result = scribe.webhook_result(payload)
    transcript_id = scribe.webhook_transcript_id(payload)
    if result is None or transcript_id is None:
        # Signed, but not a transcription of ours (another event type, or a
        # request made elsewhere with the same webhook): nothing to do.
        return JsonResponse({"status": "ignored"})
    if not Transcript.objects.filter(pk=transcript_id, engine=Engine.SCRIBE).exists():
        return JsonResponse({"status": "ignored"})
    finished = services.finish(transcript_id, result)
    log.info("Scribe webhook for transcript %s: %s", transcript_id, "stored" if finished else "already handled")
    return JsonResponse({"status": "stored" if finished else "duplicate"})
