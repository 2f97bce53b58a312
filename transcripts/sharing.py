"""Share links: read-only access to one transcript for people without an account.

The token is handed out once; only its hash is stored (`transcripts.tokens`).
Every request resolves the link afresh, so revoking or expiry takes effect on
the very next request, and an unknown, revoked or expired token all look the
same (404).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from transcripts.models import ShareLink, Status, Transcript
from transcripts.tokens import hash_token, new_token

MAX_TOKEN_LENGTH = 100
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
    token, token_hash = new_token()
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    link = ShareLink.objects.create(
        transcript=transcript,
        token_hash=token_hash,
        label=label[:100],
        allow_audio=allow_audio,
        allow_download=allow_download,
        expires_at=expires_at,
    )
    return link, token


def revoke(link: ShareLink) -> bool:
    return ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()) == 1


def links_for(transcript: Transcript):
    return ShareLink.objects.filter(transcript=transcript)


def resolve(token: str) -> ShareLink | None:
    """The live link for a token, with its transcript, or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    now = timezone.now()
    return (
        ShareLink.objects.filter(token_hash=hash_token(token), revoked_at__isnull=True, transcript__status=Status.DONE)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("transcript", "transcript__media")
        .first()
    )
