"""What the developer API keeps: API tokens, single-use socket tokens,
idempotency keys, outgoing webhooks with their delivery log, and the
Scribe-compatible request a transcript came from."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from transcripts.models import Transcript
from transcripts.tokens import hash_token

# The prefixes make a leaked token recognisable (secret scanners, logs).
API_TOKEN_PREFIX = "vb_"  # noqa: S105 (a prefix, not a secret)
SOCKET_TOKEN_PREFIX = "sutkn_"  # noqa: S105
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105
# How often a token's last-used time is written (not on every request).
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


class ApiTokenQuerySet(models.QuerySet):
    def usable(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, owner__is_active=True)


class ApiToken(models.Model):
    """A named bearer token for scripts. Shown once; only its SHA-256 is kept."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so the owner can tell tokens apart in the list.
    hint = models.CharField(max_length=12)
    read_only = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def issue(cls, owner, *, name: str, read_only: bool = False) -> tuple[ApiToken, str]:
        """(the saved token, its secret: show it now, it cannot be recovered)."""
        secret = _new_secret(API_TOKEN_PREFIX)
        token = cls.objects.create(
            owner=owner, name=name[:100], read_only=read_only, token_hash=hash_token(secret), hint=secret[:10]
        )
        return token, secret

    @classmethod
    def resolve(cls, secret: str) -> ApiToken | None:
        if not secret or len(secret) > 100:
            return None
        return cls.objects.usable().select_related("owner").filter(token_hash=hash_token(secret)).first()

    def touch(self) -> None:
        """Record the use, at most once per LAST_USED_RESOLUTION."""
        now = timezone.now()
        if self.last_used_at and now - self.last_used_at < LAST_USED_RESOLUTION:
            return
        ApiToken.objects.filter(pk=self.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        self.last_used_at = now

    def revoke(self) -> bool:
        return ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()) == 1


class SocketPurpose(models.TextChoices):
    LIVE = "live", "Live captions socket (/ws/live/)"
    REALTIME_SCRIBE = "realtime_scribe", "Scribe-compatible realtime socket"
    BATCH_SCRIBE = "batch_scribe", "One Scribe-compatible batch request"


class SocketToken(models.Model):
    """A short-lived, single-use token for a client that cannot send a
    header or a cookie (a browser's WebSocket): consumed by its first use."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="socket_tokens")
    purpose = models.CharField(max_length=20, choices=SocketPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.purpose} token {self.pk}"

    @classmethod
    def issue(cls, owner, purpose: str) -> tuple[SocketToken, str]:
        secret = _new_secret(SOCKET_TOKEN_PREFIX)
        expires = timezone.now() + timedelta(seconds=settings.API_SOCKET_TOKEN_SECONDS)
        token = cls.objects.create(owner=owner, purpose=purpose, token_hash=hash_token(secret), expires_at=expires)
        return token, secret

    @classmethod
    def consume(cls, secret: str, purpose: str):
        """The owner, if the token is valid for `purpose`; it is used up
        either way (one UPDATE, so two sockets racing with it cannot both win)."""
        if not secret or len(secret) > 100:
            return None
        now = timezone.now()
        rows = cls.objects.filter(token_hash=hash_token(secret), used_at__isnull=True, expires_at__gt=now)
        token = rows.select_related("owner").first()
        if token is None or not rows.filter(pk=token.pk).update(used_at=now):
            return None
        if token.purpose != purpose or not token.owner.is_active:
            return None
        return token.owner


class IdempotencyKey(models.Model):
    """A creation request's Idempotency-Key: the first request with a key
    makes the row (the unique constraint decides between two at once) and
    records the transcript it made; a retry answers with that transcript."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    transcript = models.ForeignKey(Transcript, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    completed = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="api_idempotency_key_per_owner")]

    def __str__(self) -> str:
        return self.key


class WebhookEvent(models.TextChoices):
    TRANSCRIPT_DONE = "transcript.done", "A transcript is done"
    TRANSCRIPT_FAILED = "transcript.failed", "A transcript failed"
    SCRIBE_TRANSCRIPTION = "speech_to_text_transcription", "Scribe-compatible requests made with webhook=true"
    PING = "ping", "A test event sent from the account page"


SUBSCRIBABLE_EVENTS = [WebhookEvent.TRANSCRIPT_DONE, WebhookEvent.TRANSCRIPT_FAILED, WebhookEvent.SCRIBE_TRANSCRIPTION]


def default_events() -> list[str]:
    return [str(event) for event in SUBSCRIBABLE_EVENTS]


class WebhookEndpoint(models.Model):
    """A URL of the user's that is told when their jobs end, signed with its
    own secret the way ElevenLabs signs (`ElevenLabs-Signature: t=...,v0=...`)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=100, blank=True)
    events = models.JSONField(default=default_events)
    secret = models.CharField(max_length=100, editable=False)
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.url

    def save(self, *args, **kwargs) -> None:
        if not self.secret:
            self.secret = _new_secret(WEBHOOK_SECRET_PREFIX)
        super().save(*args, **kwargs)

    def wants(self, event: str) -> bool:
        return self.active and event in (self.events or [])


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint, with every attempt's outcome. The row is
    the job (a wake-up lost by the broker is sent again by housekeeping)."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    transcript = models.ForeignKey(Transcript, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    # While an attempt runs, no second worker may take the delivery.
    locked_until = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint_id}"


class ScribeRequest(models.Model):
    """How a Scribe-compatible request asked for its transcript: the answer
    it expects (webhook or not, metadata to echo, extra formats, the
    multichannel style)."""

    transcript = models.OneToOneField(Transcript, on_delete=models.CASCADE, related_name="scribe_request")
    request_id = models.CharField(max_length=32, unique=True)
    webhook = models.BooleanField(default=False)
    webhook_endpoint = models.ForeignKey(WebhookEndpoint, null=True, blank=True, on_delete=models.SET_NULL)
    webhook_metadata = models.JSONField(null=True, blank=True)
    additional_formats = models.JSONField(default=list, blank=True)
    multichannel_style = models.CharField(max_length=10, default="separate")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.request_id
