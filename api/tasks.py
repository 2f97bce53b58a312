"""Celery tasks of the API: thin wrappers that take ids."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from api.models import IdempotencyKey, SocketToken
from api.webhooks import delivery


@shared_task(name="api.tasks.deliver_webhook", acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id: int) -> None:
    delivery.attempt(delivery_id)


@shared_task(name="api.tasks.housekeeping", ignore_result=True)
def housekeeping() -> dict:
    now = timezone.now()
    keys = IdempotencyKey.objects.filter(created__lt=now - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)).delete()
    tokens = SocketToken.objects.filter(Q(used_at__isnull=False) | Q(expires_at__lt=now)).delete()
    return {"resent": delivery.resend_lost(), "keys": keys[0], "tokens": tokens[0]}
