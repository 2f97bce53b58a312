"""Share links: read-only access to one transcript for people without an
account (the link model is transcripts.models.TokenLink). An unknown,
revoked and expired token all look the same (404)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from transcripts.models import ShareLink, Status, Transcript

MAX_EXPIRY_DAYS = 3650


def create_link(
    transcript: Transcript,
    *,
    expires_in_days: int | None = None,
    allow_audio: bool = True,
    allow_download: bool = False,
    label: str = "",
) -> tuple[ShareLink, str]:
    """(the saved link, its token: show it now, it cannot be recovered)."""
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise ValueError(f"Expiry must be between 1 and {MAX_EXPIRY_DAYS} days.")
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    return ShareLink.issue(
        transcript=transcript,
        label=label[:100],
        allow_audio=allow_audio,
        allow_download=allow_download,
        expires_at=expires_at,
    )


def links_for(transcript: Transcript):
    return ShareLink.objects.filter(transcript=transcript)


def resolve(token: str) -> ShareLink | None:
    """The live link for a token, with its transcript, or None."""
    return (
        ShareLink.objects.for_token(token)
        .filter(transcript__status=Status.DONE)
        .select_related("transcript", "transcript__media")
        .first()
    )
