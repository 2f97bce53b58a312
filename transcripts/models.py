"""Media files, transcription jobs and their results.

A `Transcript` is what a user sees in the library: a title, an engine, the
options it ran with, and the job's state and progress. Its words live in a
separate `TranscriptResult` row (one per transcript, enforced by the
database) so the library never loads them and a job can never store two.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Self

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from transcripts.tokens import hash_token, new_token


def media_upload_path(instance: Media, filename: str) -> str:
    # The stored name is ours; the user's file name is only a display title.
    return f"media/{instance.owner_id}/{uuid.uuid4().hex}{instance.extension}"


class Media(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="media")
    file = models.FileField(upload_to=media_upload_path, max_length=300)
    original_name = models.CharField(max_length=255)
    extension = models.CharField(max_length=12, default="")
    size = models.BigIntegerField()
    format_name = models.CharField(max_length=100)
    mime_type = models.CharField(max_length=100, default="application/octet-stream")
    has_video = models.BooleanField(default=False)
    duration = models.FloatField()
    channels = models.PositiveSmallIntegerField()
    sample_rate = models.PositiveIntegerField()
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.original_name


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    TRANSCRIBING = "transcribing", "Transcribing"
    WAITING = "waiting", "Waiting on Scribe"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# Claimed by a worker (or waiting on a provider on its behalf).
RUNNING_STATUSES = (Status.TRANSCRIBING, Status.WAITING)
ACTIVE_STATUSES = (Status.QUEUED, *RUNNING_STATUSES)


# What a job that runs again from scratch (Retry) or ends forgets of its waits.
WAIT_CLEARED = {"next_attempt_at": None, "notice": "", "busy_since": None, "busy_retries": 0}


class TranscriptQuerySet(models.QuerySet):
    def owned_by(self, user) -> TranscriptQuerySet:
        return self.filter(owner=user)

    def active(self) -> TranscriptQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)


class Transcript(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="transcripts")
    media = models.ForeignKey(Media, null=True, blank=True, on_delete=models.SET_NULL, related_name="transcripts")
    title = models.CharField(max_length=255)
    engine = models.CharField(max_length=20)  # a name in transcripts.engines.registry
    options = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0)  # percent, 0..100
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # The provider's id for an accepted request, kept to reconcile instead of resubmitting.
    provider_request_id = models.CharField(max_length=100, blank=True, db_index=True)

    language_code = models.CharField(max_length=16, blank=True)
    duration = models.FloatField(null=True, blank=True)
    # A job put back to wait (the provider busy, no free slot): not run
    # before `next_attempt_at`; `notice` says why, for the row.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    notice = models.CharField(max_length=200, blank=True)
    busy_since = models.DateTimeField(null=True, blank=True)  # the provider first said busy (this run)
    busy_retries = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TranscriptQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["owner", "-created"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("transcripts:detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def engine_label(self) -> str:
        from transcripts.engines.registry import label

        return label(self.engine)

    @property
    def can_cancel(self) -> bool:
        return self.is_active

    @property
    def waiting_notice(self) -> str:
        from transcripts.jobs.progress import waiting_notice

        return waiting_notice(self.status, self.notice, self.next_attempt_at)

    @property
    def can_retry(self) -> bool:
        return self.status in (Status.FAILED, Status.CANCELLED)

    # --- state-guarded transitions: each is one UPDATE that only matches the
    # state it leaves, so duplicate deliveries and races are no-ops. ------------

    def _guarded_update(self, allowed: Q, **changes) -> bool:
        changes.setdefault("updated", timezone.now())
        return Transcript.objects.filter(Q(pk=self.pk) & allowed).update(**changes) == 1

    def claim(self) -> bool:
        """Take the job for this worker. The attempt is counted before work starts,
        so a job that kills its worker still uses up its attempts."""
        now = timezone.now()
        lease = now + timedelta(seconds=settings.JOB_LEASE_SECONDS)
        due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        return self._guarded_update(
            Q(status=Status.QUEUED) & due,
            status=Status.TRANSCRIBING,
            attempts=F("attempts") + 1,
            lease_expires_at=lease,
            started_at=now,
            progress=0,
            error="",
        )

    def report_progress(self, percent: float) -> bool:
        """False once the job is no longer running (cancelled, say)."""
        lease = timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)
        return self._guarded_update(
            Q(status=Status.TRANSCRIBING),
            progress=round(min(max(percent, 0), 99.9), 1),
            lease_expires_at=lease,
        )

    def defer(self, until, notice: str, *, busy: bool) -> bool:
        """Put a running job back in the queue until `until` without using up
        an attempt (it never reached the provider, or the provider refused it).
        `busy`: the provider said so (counts towards the backoff and budget)."""
        changes: dict = {
            "status": Status.QUEUED,
            "progress": 0,
            "lease_expires_at": None,
            "attempts": Greatest(F("attempts") - 1, 0),
            "next_attempt_at": until,
            "notice": notice[:200],
        }
        if busy:
            changes["busy_since"] = Coalesce(F("busy_since"), timezone.now())
            changes["busy_retries"] = F("busy_retries") + 1
        return self._guarded_update(Q(status=Status.TRANSCRIBING), **changes)

    def mark_waiting(self, request_id: str) -> bool:
        return self._guarded_update(
            Q(status=Status.TRANSCRIBING),
            status=Status.WAITING,
            provider_request_id=request_id,
            lease_expires_at=None,
        )

    def fail(self, reason: str) -> bool:
        failed = self._guarded_update(
            Q(status__in=ACTIVE_STATUSES),
            status=Status.FAILED,
            error=reason,
            finished_at=timezone.now(),
            lease_expires_at=None,
            next_attempt_at=None,
            notice="",
        )
        if failed:
            from transcripts.signals import announce_job_ended

            transaction.on_commit(lambda: announce_job_ended(self.pk, Status.FAILED))
        return failed

    def cancel(self) -> bool:
        return self._guarded_update(
            Q(status__in=ACTIVE_STATUSES),
            status=Status.CANCELLED,
            error="Cancelled.",
            finished_at=timezone.now(),
            lease_expires_at=None,
            next_attempt_at=None,
            notice="",
        )

    def requeue(self, *, reset_attempts: bool) -> bool:
        allowed = Q(status__in=(Status.FAILED, Status.CANCELLED)) if reset_attempts else Q(status__in=ACTIVE_STATUSES)
        changes = {"status": Status.QUEUED, "progress": 0, "error": "", "lease_expires_at": None, "finished_at": None}
        if reset_attempts:
            changes.update(attempts=0, **WAIT_CLEARED)
        return self._guarded_update(allowed, **changes)


class TranscriptResultManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        # The caches and the search vector are megabytes nobody needs as model
        # fields; the code that uses them asks for them by name.
        return super().get_queryset().defer("search_vector", "page_cache", "export_cache")


class TranscriptResult(models.Model):
    """The words of a finished transcript in the canonical (Scribe) shape.

    `data` is what pages and exports read and what edits change; `original`
    is the engine's output, kept so edits can be undone; `raw` is the
    provider's response as received.
    """

    transcript = models.OneToOneField(Transcript, on_delete=models.CASCADE, related_name="result")
    data = models.JSONField()
    original = models.JSONField()
    raw = models.JSONField(null=True, blank=True)
    text = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # Postgres only: kept in sync with `text` by a database trigger (see the
    # sharing_and_search migration) and GIN-indexed, so every writer (the
    # engines, edits, bulk loads) updates it. Unused (NULL) on SQLite.
    search_vector = SearchVectorField(null=True, blank=True, editable=False)
    # The rendered transcript body and speaker list for the page, tagged with
    # the `updated` time it was rendered from (`transcripts.rendering`), so a
    # view reads one string instead of parsing megabytes of `data`.
    page_cache = models.JSONField(default=dict, blank=True, editable=False)
    # The words as compact text for exports, tagged the same way (`transcripts.compact`).
    export_cache = models.TextField(blank=True, editable=False)

    objects = TranscriptResultManager()

    def __str__(self) -> str:
        return f"Result of transcript {self.transcript_id}"


class TokenLinkQuerySet(models.QuerySet):
    def usable(self) -> TokenLinkQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))

    def for_token(self, token: str) -> TokenLinkQuerySet:
        """The usable link a token opens (none for an absurd token)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return self.none()
        return self.usable().filter(token_hash=hash_token(token))


MAX_TOKEN_LENGTH = 100


class TokenLink(models.Model):
    """A link that opens something to whoever holds its token (share links,
    live viewer links). Only the SHA-256 of the token is stored
    (`transcripts.tokens`), so the link is shown to its owner once, when it is
    made; every use resolves it afresh, so revoking or expiry takes effect on
    the very next request."""

    token_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TokenLinkQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def issue(cls, **fields) -> tuple[Self, str]:
        """(the saved link, its token: show it now, it cannot be recovered)."""
        token, token_hash = new_token()
        return cls.objects.create(token_hash=token_hash, **fields), token

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    def revoke(self) -> bool:
        """False when it was revoked already."""
        return type(self).objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()) == 1


class ShareLink(TokenLink):
    """A read-only link to one transcript for people without an account."""

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="share_links")
    label = models.CharField(max_length=100, blank=True)
    allow_audio = models.BooleanField(default=True)
    allow_download = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.label or f"Share link {self.pk}"


class ResumableUpload(models.Model):
    """A file arriving piece by piece (the tus protocol), assembled in its
    final place in storage as it comes (`transcripts.media.assembly`). Once
    every byte is in, it is probed and becomes a transcript; an upload left
    unfinished past `expires_at` is swept away with its pieces."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="resumable_uploads")
    length = models.BigIntegerField()  # declared by the client (Upload-Length)
    offset = models.BigIntegerField(default=0)  # bytes stored so far
    filename = models.CharField(max_length=255)
    engine = models.CharField(max_length=20)
    options = models.JSONField(default=dict, blank=True)  # TranscriptionOptions
    metadata = models.CharField(max_length=4000, blank=True)  # Upload-Metadata as received
    storage_name = models.CharField(max_length=300)
    # The storage's own bookkeeping (an S3 multipart upload id and its parts' ETags).
    assembly = models.JSONField(default=dict, blank=True)
    transcript = models.OneToOneField(
        Transcript, null=True, blank=True, on_delete=models.SET_NULL, related_name="resumable_upload"
    )
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.filename} ({self.offset}/{self.length})"

    @property
    def is_complete(self) -> bool:
        return self.offset >= self.length


class Quota(models.Model):
    """A user's own limits, set by an administrator; a blank field means the
    site-wide default (settings QUOTA_*, LIVE_MAX_SESSIONS_PER_USER). Read
    through transcripts.quotas.limits_for()."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quota")
    storage_bytes = models.BigIntegerField(null=True, blank=True, help_text="Bytes of recordings kept.")
    # {engine name: minutes per calendar month}; an engine left out has the site default.
    monthly_minutes = models.JSONField(default=dict, blank=True)
    active_jobs = models.PositiveIntegerField(null=True, blank=True, help_text="Jobs queued or running at once.")
    live_sessions = models.PositiveIntegerField(null=True, blank=True, help_text="Live sessions open at once.")

    def __str__(self) -> str:
        return f"Quota of user {self.user_id}"


class EngineUsage(models.Model):
    """Audio sent to an engine, counted when the job is queued (or a live
    session ends). Kept when the transcript is deleted, so deleting does not
    give minutes back: the provider was paid all the same."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="engine_usage")
    engine = models.CharField(max_length=20)
    seconds = models.FloatField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "engine", "created"])]

    def __str__(self) -> str:
        return f"{self.seconds:.0f} s of {self.engine}"
