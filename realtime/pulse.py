"""One heartbeat for all the live sessions of a server process.

Every few seconds each live session must record that it is alive (so that
recovery leaves it alone), learn whether anyone holds a viewer link
(captions go to the viewers' group only then) and whether its page has come
back on another connection, and check its idle and length limits. Done
per session, 200 sessions made 80 queries a second through the one thread
Channels runs database work in, and that work held the interpreter lock
away from the audio (a fifth of the server's samples under py-spy). Here it
is one task per event loop and one database hop, of three small queries,
for every session at once.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Protocol

from channels.db import database_sync_to_async
from django.conf import settings

from realtime import services

log = logging.getLogger(__name__)


class Member(Protocol):
    @property
    def session_id(self) -> int: ...

    def on_heartbeat(self, watched: bool) -> None: ...

    def on_release(self) -> None: ...

    @property
    def recorded_seconds(self) -> float: ...

    def on_over_quota(self, message: str) -> None: ...


def period() -> float:
    # Tests use idle timeouts shorter than a heartbeat.
    beat = services.HEARTBEAT_SECONDS
    return beat if min(settings.LIVE_IDLE_TIMEOUT, settings.LIVE_SILENCE_TIMEOUT) > beat else 0.5


class Pulse:
    def __init__(self) -> None:
        self.members: set[Member] = set()
        self.task: asyncio.Task | None = None

    def join(self, member: Member) -> None:
        self.members.add(member)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.beat())

    def leave(self, member: Member) -> None:
        self.members.discard(member)

    def release(self, session_id: int) -> None:
        """Have this process's holder of the session hand it over now, rather
        than at its next heartbeat."""
        for member in list(self.members):
            if member.session_id == session_id:
                member.on_release()

    async def beat(self) -> None:
        while self.members:
            await asyncio.sleep(period())
            try:
                await self.beat_once()
            except Exception:
                log.exception("Live sessions' heartbeat failed; trying again next period")

    async def beat_once(self) -> None:
        members = list(self.members)
        recorded = {member.session_id: member.recorded_seconds for member in members}
        beat = await database_sync_to_async(services.heartbeat)(list(recorded), recorded)
        for member in members:
            if member in self.members:  # not ended during the query
                member.on_heartbeat(member.session_id in beat.watched)
                if member.session_id in beat.released:
                    member.on_release()
                elif member.session_id in beat.over_quota:
                    member.on_over_quota(beat.over_quota[member.session_id])


_pulses: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pulse] = weakref.WeakKeyDictionary()


def pulse() -> Pulse:
    """This event loop's pulse."""
    loop = asyncio.get_running_loop()
    if loop not in _pulses:
        _pulses[loop] = Pulse()
    return _pulses[loop]
