"""Sending one webhook delivery, and trying again with backoff.

The delivery row is the job: a worker claims it with a guarded UPDATE (so a
duplicate wake-up is a no-op), posts the event, and records the outcome. A
failure (a transport error, a timeout, any answer but 2xx) is tried again
after WEBHOOK_RETRY_BASE_SECONDS x 4^n (at most 4 h apart) until
WEBHOOK_MAX_ATTEMPTS; the wait is a Celery countdown, so no thread is held,
and housekeeping sends a wake-up again if the broker lost it. A refused
target (api/webhooks/targets.py) fails at once.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import httpx
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from api.models import DeliveryState, WebhookDelivery
from api.webhooks import signing, targets

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 4 * 3600
# A claim outlives one attempt by this much, then another worker may take it.
CLAIM_MARGIN_SECONDS = 30
USER_AGENT = "Verbatim-Webhooks/1"


def enqueue(delivery_id: int, countdown: float = 0) -> None:
    """A wake-up for a worker; never fails the caller (housekeeping resends)."""
    from api.tasks import deliver_webhook

    try:
        deliver_webhook.apply_async(args=[delivery_id], queue="io", countdown=countdown)
    except Exception:
        log.warning("Could not queue webhook delivery %s; housekeeping will", delivery_id, exc_info=True)


def backoff(attempts: int) -> float:
    return min(settings.WEBHOOK_RETRY_BASE_SECONDS * 4 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def claim(delivery_id: int) -> WebhookDelivery | None:
    now = timezone.now()
    lock = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + CLAIM_MARGIN_SECONDS)
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=lock, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def attempt(delivery_id: int) -> None:
    delivery = claim(delivery_id)
    if delivery is None:
        return
    try:
        status = post(delivery)
    except targets.TargetRefused as refused:
        conclude(delivery, DeliveryState.FAILED, error=str(refused))
        return
    except httpx.HTTPError as error:
        retry_or_fail(delivery, error=describe(error))
        return
    if 200 <= status < 300:
        conclude(delivery, DeliveryState.DELIVERED, status=status)
    else:
        retry_or_fail(delivery, status=status, error=f"The receiver answered HTTP {status}.")


def post(delivery: WebhookDelivery) -> int:
    endpoint = delivery.endpoint
    if not endpoint.active:
        raise targets.TargetRefused("The webhook was turned off.")
    target = targets.check(endpoint.url)
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Host": target.host_header,
        signing.SIGNATURE_HEADER: signing.signature(endpoint.secret, body),
        "Verbatim-Event": delivery.event,
        "Verbatim-Delivery": str(delivery.pk),
    }
    extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
    with httpx.Client(timeout=settings.WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False, trust_env=False) as client:
        response = client.post(target.url, content=body, headers=headers, extensions=extensions)
    return response.status_code


def describe(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"The receiver did not answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} s."
    return f"Could not reach the receiver ({type(error).__name__})."


def retry_or_fail(delivery: WebhookDelivery, *, error: str, status: int | None = None) -> None:
    if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        conclude(
            delivery, DeliveryState.FAILED, status=status, error=f"{error} Gave up after {delivery.attempts} attempts."
        )
        return
    wait = backoff(delivery.attempts)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() + timedelta(seconds=wait),
        locked_until=None,
        response_status=status,
        last_error=error[:500],
    )
    enqueue(delivery.pk, countdown=wait)


def conclude(delivery: WebhookDelivery, state: str, *, status: int | None = None, error: str = "") -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=state,
        locked_until=None,
        response_status=status,
        last_error=error[:500],
        delivered_at=timezone.now() if state == DeliveryState.DELIVERED else None,
    )
    log.info("Webhook delivery %s (%s): %s %s", delivery.pk, delivery.event, state, error)


def resend_lost(grace_seconds: float = 60) -> int:
    """Wake-ups for pending deliveries whose time has long come (the broker
    lost the message, or a worker died holding it)."""
    now = timezone.now()
    due = WebhookDelivery.objects.filter(
        state=DeliveryState.PENDING, next_attempt_at__lt=now - timedelta(seconds=grace_seconds)
    ).filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
    ids = list(due.values_list("pk", flat=True)[:1000])
    for delivery_id in ids:
        enqueue(delivery_id)
    return len(ids)
