"""Webhook mode: which installation and job a delivery belongs to, and
its transcript. (Verifying the signature is `verify_signature`; the endpoint
is transcripts.views.webhooks.)

Every delivery is verified before anything else happens: the
`ElevenLabs-Signature` header (`t=<unix seconds>,v0=<hex>[,v0=<hex>...]`)
must carry an HMAC-SHA256, keyed with one of SCRIBE_WEBHOOK_SECRETS, of
`"{t}.{raw body}"`, compared in constant time, with `t` at most 30 minutes
old and at most 5 minutes in the future (the official SDK checks only the
past, and not in constant time). Several `v0` entries and several secrets
are accepted so a secret can be rotated.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time

from django.conf import settings

from transcripts.engines.base import EngineResult

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


def site_tag() -> str:
    """Names this installation in `webhook_metadata`: ElevenLabs sends every
    STT webhook of an account to each configured endpoint, and another
    installation's job 12 is not ours."""
    return hmac.new(settings.SECRET_KEY.encode(), b"scribe-webhook-site", hashlib.sha256).hexdigest()[:16]


def webhook_transcript_id(payload: dict) -> int | None:
    """The job a verified webhook payload belongs to (from our metadata)."""
    metadata = (payload.get("data") or {}).get("webhook_metadata")
    if isinstance(metadata, str):
        with contextlib.suppress(ValueError):
            metadata = json.loads(metadata)
    if isinstance(metadata, dict) and hmac.compare_digest(str(metadata.get("site", "")), site_tag()):
        with contextlib.suppress(TypeError, ValueError):
            return int(metadata.get("transcript_id"))
    return None


def webhook_result(payload: dict) -> EngineResult | None:
    data = payload.get("data") or {}
    body = data.get("transcription")
    if payload.get("type") != "speech_to_text_transcription" or not isinstance(body, dict):
        return None
    from transcripts.engines.scribe.engine import to_canonical

    return EngineResult(transcript=to_canonical(body), raw={**body, "request_id": data.get("request_id")})
