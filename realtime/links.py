"""Where a live link's viewers are, and telling them when what they watch
goes away or changes.

A viewer's socket sits in two groups of the channel layer: its session's
(captions, the session's end, the deletion of its transcript, edits of it)
and its own link's (revocation). The channel layer reaches every web
process, so a revoked or deleted link closes its viewers wherever they are
connected. Telling them is best-effort and happens after the change is
committed: the change itself never fails for it, and a viewer never hears of
a change that was rolled back."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

CLOSED = {"type": "live.closed"}  # the viewer's socket is closed as an unknown link's would be (4404)


def session_group(session_uuid) -> str:
    return f"live.view.{session_uuid.hex}"


def link_group(link_id: int) -> str:
    return f"live.link.{link_id}"


def tell_after_commit(group: str, event: dict) -> None:
    transaction.on_commit(lambda: tell(group, event))


def tell(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception as error:  # a notification never fails the work (RELIABILITY.md 13)
        log.warning("Live viewers of %s not told of %s: %s", group, event["type"], type(error).__name__)


# --- on the transcript's sharing page (transcripts.sharing.add_link_source) ------------


def state_of(link) -> str:
    if link.revoked_at is not None:
        return "revoked"
    return "active" if link.is_live else "expired"


def sharing_section(transcript):
    """The viewer links of the live session this transcript came from."""
    from django.urls import reverse

    from realtime.models import LiveLink
    from transcripts.sharing import LinkSection, OtherLink

    rows = LiveLink.objects.filter(session__transcript=transcript).order_by("-created", "-id")
    if not rows:
        return None
    return LinkSection(
        slug="live",
        title="Live links",
        hint="Made during the live session: they show this transcript, as you edit it, "
        "until they expire or you revoke them.",
        links=[
            OtherLink(
                link.pk, link.created, link.expires_at, state_of(link), reverse("realtime:revoke_link", args=[link.pk])
            )
            for link in rows
        ],
    )
