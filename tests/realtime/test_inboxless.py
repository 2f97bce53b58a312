"""InboxlessConsumer replaces two Channels methods: it must be looked at
again whenever Channels changes them, and it keeps their contract (messages
one at a time, in order; connect and disconnect as before)."""

from __future__ import annotations

import hashlib
import inspect
from importlib.metadata import version

import pytest
from channels.consumer import AsyncConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator

from realtime.inboxless import REPLACES, InboxlessConsumer


def test_the_replaced_channels_methods_are_the_ones_it_was_written_against():
    assert version("channels") == REPLACES["channels"], "Channels was upgraded: review realtime/inboxless.py"
    for name in ("__call__", "dispatch"):
        source = inspect.getsource(getattr(AsyncConsumer, name))
        assert hashlib.sha256(source.encode()).hexdigest() == REPLACES[f"AsyncConsumer.{name}"], (
            f"AsyncConsumer.{name} changed: compare it with InboxlessConsumer.{name}, then update REPLACES"
        )
        # Nothing between AsyncConsumer and InboxlessConsumer overrides them.
        assert getattr(AsyncWebsocketConsumer, name) is getattr(AsyncConsumer, name)


class Echo(InboxlessConsumer):
    disconnected_with: list[int] = []

    async def receive(self, text_data=None, bytes_data=None):
        await self.send(bytes_data=bytes_data) if bytes_data is not None else await self.send(text_data=text_data)

    async def disconnect(self, code):
        Echo.disconnected_with.append(code)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)  # connect and disconnect still close stale connections
async def test_frames_are_handled_one_at_a_time_in_order_and_no_inbox_is_made(monkeypatch):
    class NoInbox:
        async def new_channel(self):
            raise AssertionError("an inbox was made")

    monkeypatch.setattr("realtime.inboxless.get_channel_layer", lambda alias: NoInbox())
    communicator = WebsocketCommunicator(Echo.as_asgi(), "/")
    connected, _ = await communicator.connect()
    assert connected
    for number in range(200):
        await communicator.send_to(bytes_data=number.to_bytes(2, "big"))
    await communicator.send_to(text_data="done")
    echoed = [await communicator.receive_from() for _ in range(201)]
    assert echoed[:200] == [number.to_bytes(2, "big") for number in range(200)] and echoed[200] == "done"
    await communicator.disconnect(code=1001)
    assert Echo.disconnected_with == [1001]
