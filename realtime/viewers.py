"""The viewers of a live session (anyone holding one of its live links):
captions reach them through the channel layer's group for the session,
never audio. Each viewer also listens on its link's group, so revoking the
link closes it at once (realtime/links.py); and since a closing message can
be lost (a process restarting), the link is looked up again now and then
as captions flow, so a revoked or expired link stops them either way."""

from __future__ import annotations

import json
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from realtime import links, messages, services
from realtime.relay import Segment

CLOSE_GONE = 4404  # the same as an unknown link's: revoked, expired and deleted look alike
# How stale the viewer's knowledge that its link is usable may get while captions flow.
LINK_RECHECK_SECONDS = 5.0


class GroupViewers:
    """The relay's Viewers: the session's group in the channel layer."""

    def __init__(self, channel_layer, session_uuid):
        self.channel_layer = channel_layer
        self.group = links.session_group(session_uuid)

    async def partial(self, text: str) -> None:
        await self.send(messages.partial(text))

    async def committed(self, segment: Segment) -> None:
        await self.send(messages.committed(segment))

    async def ended(self) -> None:
        await self.send(messages.VIEWERS_ENDED)

    async def send(self, caption: dict) -> None:
        await self.channel_layer.group_send(self.group, {"type": "live.caption", "caption": caption})


class LiveViewerConsumer(AsyncWebsocketConsumer):
    """Someone with the live link: captions as they happen, no login needed;
    once the session ended, the saved transcript's text as it is now."""

    joined: list[str] = []

    async def connect(self) -> None:
        token = self.scope["url_route"]["kwargs"]["token"]
        self.link = await database_sync_to_async(services.link_for_token)(token)
        if self.link is None:
            await self.close(code=CLOSE_GONE)
            return
        self.session = self.link.session
        self.checked = time.monotonic()
        self.joined = [links.session_group(self.session.uuid), links.link_group(self.link.pk)]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        backlog = await database_sync_to_async(self.backlog)()
        await self.send(text_data=json.dumps(backlog))

    def backlog(self) -> dict:
        self.session.refresh_from_db()
        return messages.backlog(services.viewer_text(self.session), ended=not self.session.is_active)

    async def disconnect(self, code: int) -> None:
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        pass  # viewers only listen

    async def live_caption(self, event: dict) -> None:
        if not await self.link_still_usable():
            await self.close(code=CLOSE_GONE)
            return
        await self.send(text_data=json.dumps(event["caption"]))
        if event["caption"].get("type") == "ended":
            await self.close()

    async def live_closed(self, event: dict) -> None:
        await self.close(code=CLOSE_GONE)

    async def link_still_usable(self) -> bool:
        if time.monotonic() - self.checked < LINK_RECHECK_SECONDS:
            return True
        self.checked = time.monotonic()
        return await database_sync_to_async(services.link_usable)(self.link.pk)
