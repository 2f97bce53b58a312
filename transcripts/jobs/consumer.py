"""The jobs socket (/ws/jobs/): the owner's job changes, pushed."""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from transcripts.jobs.progress import SNAPSHOT_FIELDS, group_for, snapshot
from transcripts.models import Transcript

CLOSE_UNAUTHENTICATED = 4401


class JobsConsumer(AsyncJsonWebsocketConsumer):
    """Pushes the owner's job changes: from the channel layer when workers can
    reach it, otherwise by watching the database for rows that changed."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.pk
        self.group = group_for(user.pk)
        self.watch: asyncio.Task | None = None
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        if settings.PROGRESS_POLL_SECONDS:
            self.watch = asyncio.create_task(self.watch_database(settings.PROGRESS_POLL_SECONDS))

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if getattr(self, "watch", None):
            self.watch.cancel()

    async def receive_json(self, content, **kwargs) -> None:
        pass  # the page only listens

    async def job_update(self, event: dict) -> None:
        await self.send_json(event["job"])

    async def watch_database(self, interval: float) -> None:
        seen: dict[int, object] = {}
        await self.changed_rows(seen)  # the page was rendered with these
        while True:
            await asyncio.sleep(interval)
            for row in await self.changed_rows(seen):
                await self.send_json(snapshot(row))

    @database_sync_to_async
    def changed_rows(self, seen: dict[int, object]) -> list[dict]:
        rows = Transcript.objects.filter(owner_id=self.user_id).values(*SNAPSHOT_FIELDS)[:500]
        changed = [row for row in rows if seen.get(row["id"]) != row["updated"]]
        seen.update((row["id"], row["updated"]) for row in changed)
        return changed
