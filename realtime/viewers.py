"""The viewers of a live session (anyone holding its live link): captions
reach them through the channel layer's group for the session, never audio."""

from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from realtime import messages, services
from realtime.relay import Segment


class GroupViewers:
    """The relay's Viewers: the session's group in the channel layer."""

    def __init__(self, channel_layer, session_uuid):
        self.channel_layer = channel_layer
        self.group = services.viewer_group(session_uuid)

    async def partial(self, text: str) -> None:
        await self.send(messages.partial(text))

    async def committed(self, segment: Segment) -> None:
        await self.send(messages.committed(segment))

    async def ended(self) -> None:
        await self.send(messages.VIEWERS_ENDED)

    async def send(self, caption: dict) -> None:
        await self.channel_layer.group_send(self.group, {"type": "live.caption", "caption": caption})


class LiveViewerConsumer(AsyncWebsocketConsumer):
    """Someone with the live link: captions as they happen, no login needed."""

    async def connect(self) -> None:
        token = self.scope["url_route"]["kwargs"]["token"]
        self.session = await database_sync_to_async(services.session_for_token)(token)
        if self.session is None:
            await self.close(code=4404)
            return
        self.group = services.viewer_group(self.session.uuid)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        backlog = await database_sync_to_async(self.backlog)()
        await self.send(text_data=json.dumps(backlog))

    def backlog(self) -> dict:
        self.session.refresh_from_db()
        segments = list(self.session.segments.values_list("text", flat=True))
        return messages.backlog(segments, ended=not self.session.is_active)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        pass  # viewers only listen

    async def live_caption(self, event: dict) -> None:
        await self.send(text_data=json.dumps(event["caption"]))
        if event["caption"].get("type") == "ended":
            await self.close()
