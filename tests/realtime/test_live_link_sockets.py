"""Live viewer sockets follow their link and their data: a viewer is closed
when its transcript is deleted or its link revoked (through the channel
layer's groups, so across processes too), and is sent the transcript as
edited, never the captions as first committed."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from realtime import links, services
from tests.realtime.live_support import IN_MEMORY_LAYER, InProcessSocket
from transcripts import services as transcript_services

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def channel_layer(settings):
    settings.CHANNEL_LAYERS = IN_MEMORY_LAYER  # see test_live_socket.py


def ended_session_with_link(user, text: str = "the secret plan"):
    session = services.start_session(user, engine="local")
    services.append_segment(session.pk, 0, text, None, 0, 2)
    new = services.create_link(session)
    transcript = services.end_session(session.pk)
    return transcript, new


async def test_a_connected_viewer_is_closed_when_the_transcript_is_deleted(user):
    transcript, new = await sync_to_async(ended_session_with_link)(user)
    async with InProcessSocket(f"/ws/live/view/{new.token}/") as viewer:
        await viewer.wait_for("backlog")
        await sync_to_async(transcript_services.delete)(transcript)
        assert await viewer.wait_closed(timeout=5) == 4404
    async with InProcessSocket(f"/ws/live/view/{new.token}/") as again:
        assert not again.accepted and again.close_code == 4404


def redact_secret(transcript_id: int) -> None:
    from transcripts import results
    from transcripts.document import edits

    def redact(data: dict) -> dict:
        index = next(i for i, word in enumerate(data["words"]) if word["text"] == "secret")
        return edits.correct_words(data, index, index, "[redacted]")

    results.edit(transcript_id, redact)


async def test_viewers_get_the_edited_text_never_the_original_captions(user):
    transcript, new = await sync_to_async(ended_session_with_link)(user)
    async with InProcessSocket(f"/ws/live/view/{new.token}/") as connected:
        await connected.wait_for("backlog")
        await sync_to_async(redact_secret)(transcript.pk)
        edited = await connected.wait_for("transcript", timeout=5)
    assert edited["text"] == "the [redacted] plan"
    async with InProcessSocket(f"/ws/live/view/{new.token}/") as newcomer:
        backlog = await newcomer.wait_for("backlog")
    assert backlog == {"type": "backlog", "segments": ["the [redacted] plan"], "ended": True}
    assert "secret" not in str(connected.messages[1:]) + str(newcomer.messages)


async def test_revoking_a_link_closes_its_connected_viewers_at_once_and_only_them(user):
    transcript, first = await sync_to_async(ended_session_with_link)(user)
    session = await sync_to_async(lambda: first.link.session)()
    second = await sync_to_async(services.create_link)(session)
    async with (
        InProcessSocket(f"/ws/live/view/{first.token}/") as revoked,
        InProcessSocket(f"/ws/live/view/{second.token}/") as kept,
    ):
        await revoked.wait_for("backlog")
        await kept.wait_for("backlog")
        await sync_to_async(first.link.revoke)()
        assert await revoked.wait_closed(timeout=5) == 4404
        assert kept.reader is not None and not kept.reader.done()


async def test_a_revoked_viewer_never_gets_captions_again_even_after_a_new_link(user, monkeypatch):
    """Even when the closing message was lost (revoked behind the channel
    layer's back here), the viewer's link is looked up again as captions flow."""
    from channels.layers import get_channel_layer

    from realtime import viewers
    from realtime.models import LiveLink

    monkeypatch.setattr(viewers, "LINK_RECHECK_SECONDS", 0)
    session = await sync_to_async(services.start_session)(user, engine="local")
    first = await sync_to_async(services.create_link)(session)
    async with InProcessSocket(f"/ws/live/view/{first.token}/") as viewer:
        await viewer.wait_for("backlog")
        await LiveLink.objects.filter(pk=first.link.pk).aupdate(revoked_at=session.started)
        await sync_to_async(services.create_link)(session)  # the session is watched again
        caption = {"type": "live.caption", "caption": {"type": "committed", "index": 0, "text": "after"}}
        await get_channel_layer().group_send(links.session_group(session.uuid), caption)
        assert await viewer.wait_closed(timeout=5) == 4404
    assert "after" not in str(viewer.messages)
