"""Signing outgoing webhooks the way ElevenLabs signs its own, so receivers
written for ElevenLabs (its SDKs' `construct_event`) verify ours:
`ElevenLabs-Signature: t=<unix seconds>,v0=<hex HMAC-SHA256(secret, "<t>.<body>")>`."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "ElevenLabs-Signature"


def signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v0={digest}"
