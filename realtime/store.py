"""The database side of a live relay: realtime/services.py's workflows,
awaited from the event loop (each in Channels' database thread)."""

from __future__ import annotations

from channels.db import database_sync_to_async

from realtime import services
from realtime.relay import LiveOptions, Segment


class DatabaseStore:
    async def open(self, user, options: LiveOptions) -> services.Opened:
        return await database_sync_to_async(services.open_session)(
            user, engine=options.engine, language=options.language, resume=options.resume, shown=options.shown
        )

    async def request_release(self, session_id: int) -> None:
        await database_sync_to_async(services.request_release)(session_id)

    async def forget(self, session_id: int, *, resumed: bool) -> None:
        forget = services.detach_session if resumed else services.discard_session
        await database_sync_to_async(forget)(session_id)

    async def watched(self, session_id: int) -> bool:
        return session_id in await database_sync_to_async(services.watched)([session_id])

    async def append(
        self, session_id: int, segment: Segment, words: list[dict] | None, transcribed_until: float | None = None
    ) -> None:
        await database_sync_to_async(services.append_segment)(
            session_id,
            segment.index,
            segment.text,
            words,
            segment.start,
            segment.end,
            transcribed_until,
            language=segment.language,
        )

    async def end(
        self, session_id: int, *, error: str, gaps: list[dict] | None = None, transcribed_until: float | None = None
    ) -> int | None:
        transcript = await database_sync_to_async(services.end_session)(
            session_id, error=error, gaps=gaps, transcribed_until=transcribed_until
        )
        return transcript.pk if transcript is not None else None

    async def detach(
        self, session_id: int, *, gaps: list[dict] | None = None, transcribed_until: float | None = None
    ) -> None:
        await database_sync_to_async(services.detach_session)(
            session_id, gaps=gaps, transcribed_until=transcribed_until
        )
