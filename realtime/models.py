"""Live caption sessions.

A `LiveSession` is one microphone stream. Each committed segment is a row
written as it arrives, and the raw audio goes to a WAV file in storage as it
streams, so a dropped browser or a restarted server leaves everything
committed so far. Ending a session (cleanly, or by recovery) turns it into a
`Transcript` with its `Media`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from transcripts.media.pcm import BYTES_PER_SECOND
from transcripts.models import TokenLink


class LiveStatus(models.TextChoices):
    ACTIVE = "active", "Live"
    ENDED = "ended", "Ended"


class LiveSession(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="live_sessions")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=255)
    engine = models.CharField(max_length=20)
    language = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=10, choices=LiveStatus.choices, default=LiveStatus.ACTIVE, db_index=True)
    # Storage name of the WAV written as audio streams in.
    recording_name = models.CharField(max_length=300, blank=True)
    audio_bytes = models.BigIntegerField(default=0)
    # Seen by the consumer recently; a stale active session is recovered.
    heartbeat = models.DateTimeField(default=timezone.now)
    # False once the browser's connection dropped without a stop: the page may
    # come back and resume the session (until recovery ends it).
    attached = models.BooleanField(default=True)
    # Set when the page resumes the session on a new connection while the
    # server still holds the old one (a drop not seen yet from this side):
    # the consumer holding it hands it over at its next heartbeat.
    release_requested = models.BooleanField(default=False)
    started = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Session seconds up to which the speech service has given text for all
    # the audio it was sent (what recovery knows of a session whose server died).
    transcribed_until = models.FloatField(default=0)
    # Parts of the recording that got no live text: [{"start", "end", "filled"}],
    # session seconds. They make the session incomplete until a batch pass
    # over the recording fills them (realtime/gaps.py).
    gaps = models.JSONField(default=list, blank=True)
    # Deleting the transcript deletes the session with its segments and viewer
    # links: nothing is left that still shows the words.
    transcript = models.OneToOneField(
        "transcripts.Transcript", null=True, blank=True, on_delete=models.CASCADE, related_name="live_session"
    )

    class Meta:
        ordering = ["-started", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.status == LiveStatus.ACTIVE

    @property
    def duration(self) -> float:
        return self.audio_bytes / BYTES_PER_SECOND

    @property
    def incomplete(self) -> bool:
        return any(not gap.get("filled") for gap in self.gaps)


class LiveSegment(models.Model):
    """One committed piece of text, saved the moment the upstream commits it."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="segments")
    index = models.PositiveIntegerField()
    text = models.TextField(blank=True)
    words = models.JSONField(null=True, blank=True)  # canonical word tokens, session-relative times
    start = models.FloatField(default=0)
    end = models.FloatField(default=0)
    # The language the engine detected for this segment ('' when it did not say).
    language = models.CharField(max_length=16, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["index"]
        constraints = [models.UniqueConstraint(fields=["session", "index"], name="live_segment_unique_index")]

    def __str__(self) -> str:
        return self.text[:60]


class LiveLink(TokenLink):
    """A viewer link for a live session (see TokenLink)."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="links")

    def __str__(self) -> str:
        return f"Live link {self.pk} for {self.session_id}"

    def revoke(self) -> bool:
        """Revoked, and its connected viewers closed (in every process)."""
        from realtime import links

        revoked = super().revoke()
        if revoked:
            links.tell_after_commit(links.link_group(self.pk), links.CLOSED)
        return revoked
