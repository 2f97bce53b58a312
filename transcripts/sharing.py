"""Share links: read-only access to one transcript for people without an
account (the link model is transcripts.models.TokenLink). An unknown,
revoked and expired token all look the same (404)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

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


# --- links other apps make to a transcript's words ----------------------------------
# A live session's viewer links show its transcript once it ended; the owner
# sees and revokes them on the same sharing page. Those apps add their links
# here (transcripts never imports them: dependencies point one way).


@dataclass(frozen=True)
class OtherLink:
    id: int
    created: datetime
    expires_at: datetime | None
    state: str  # active, revoked or expired
    revoke_url: str  # POST (with `next`) revokes it


@dataclass(frozen=True)
class LinkSection:
    slug: str  # the table's id is "<slug>-links"
    title: str
    hint: str
    links: list[OtherLink]


LinkSource = Callable[[Transcript], LinkSection | None]
_link_sources: list[LinkSource] = []


def add_link_source(source: LinkSource) -> None:
    if source not in _link_sources:
        _link_sources.append(source)


def other_links(transcript: Transcript) -> list[LinkSection]:
    sections = (source(transcript) for source in _link_sources)
    return [section for section in sections if section is not None]
