"""A Channels consumer without the channel-layer inbox, for sockets that
carry audio.

Channels' `AsyncConsumer.__call__` waits on two sources, the client and the
consumer's own channel-layer inbox, which costs a new Task and an
asyncio.wait per audio frame; and its `dispatch` runs close_old_connections()
through sync_to_async before every message: one hop per audio frame to the
single shared thread Channels runs database work in, where with many
sessions the frames queue behind each other (and behind every database
call) while Daphne's inbound queue grows without bound.

Nothing is ever sent to such a consumer's channel (what it broadcasts leaves
through group_send), and its audio frames touch no database (its database
work goes through database_sync_to_async, which closes stale connections
itself), so here messages come from the client only, frames skip the hop,
and every other message keeps it. Messages are still handled one at a time,
in order. Both methods replace Channels' own: REPLACES pins the Channels
version and the source they were written against (tests/realtime/test_inboxless.py).
"""

from __future__ import annotations

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer

# sha256 of inspect.getsource() of the replaced methods, and the version they came from.
REPLACES = {
    "channels": "4.3.2",
    "AsyncConsumer.__call__": "e52238720872dbc3f854519bc971aa7eb41553e63c8729081549ce42465ee419",
    "AsyncConsumer.dispatch": "39f34e7d4fb0f6552de4ade665b943fe78137379702af6b58c79a14c49a75520",
}


class InboxlessConsumer(AsyncWebsocketConsumer):
    async def __call__(self, scope, receive, send) -> None:
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: dict) -> None:
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
            return
        await super().dispatch(message)
