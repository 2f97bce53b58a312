"""In-process stand-ins a test drives for the live relay's collaborators that
face outwards: a scripted upstream (the speech service), the page (a sink
that keeps every message as the browser would get it) and the viewers.
The store stays the real one, on the test database."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from realtime import messages
from realtime.relay import Ending, LiveOptions, LiveRelay, Segment
from realtime.store import DatabaseStore
from realtime.upstreams import Committed, Emit, Event, Replay, UpstreamError


class ScriptedUpstream:
    def __init__(
        self, script: Upstreams, engine: str, *, language: str, emit: Emit, position: float, previous_text: str
    ):
        self.script = script
        self.engine, self.language, self.position, self.previous_text = engine, language, position, previous_text
        self.emit = emit
        self.audio = bytearray()
        self.resume_audio = b""  # the recording's tail a resumed window starts with
        self.started = self.finished = self.closed = False
        self.commits = 0
        self.covered = position  # session seconds with text (the ends of the commits said)
        self.finish_timeout: float | None = None

    @property
    def transcribed_until(self) -> float:
        return self.covered

    async def start(self) -> None:
        if self.script.refuse is not None:
            raise self.script.refuse
        self.started = True

    async def send(self, pcm: bytes) -> None:
        await self.script.flowing.wait()  # cleared: a slow upstream
        self.audio += pcm

    def context(self, text: str) -> None:
        self.previous_text = text

    async def commit(self) -> None:
        """A client's commit: what the test queued in `script.on_commit`."""
        self.commits += 1
        for event in self.script.on_commit:
            await self.emit(event)

    async def finish(self, timeout: float = 5.0) -> None:
        """The last commit: what the test queued in `script.on_finish`; then
        all the audio has text, unless `script.never_commits`."""
        self.finish_timeout = timeout
        await self.say(*self.script.on_finish)
        if not self.script.never_commits:
            self.covered = self.position + len(self.audio) / 32000
        self.finished = True
        await self.close()

    async def close(self) -> None:
        self.closed = True

    async def say(self, *events: Event) -> None:
        for event in events:
            if isinstance(event, Committed):
                self.covered = max(self.covered, event.end)
            await self.emit(event)


@dataclass
class Upstreams:
    """The relay's upstream factory; keeps every upstream it made."""

    made: list[ScriptedUpstream] = field(default_factory=list)
    refuse: UpstreamError | None = None  # start() raises this
    on_finish: list[Event] = field(default_factory=list)
    on_commit: list[Event] = field(default_factory=list)
    never_commits: bool = False  # finish() leaves the audio without text
    flowing: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.flowing.set()

    def __call__(
        self,
        engine: str,
        *,
        language: str,
        emit: Emit,
        position: float = 0.0,
        previous_text: str = "",
        keyterms: tuple[str, ...] = (),
        context: bytes = b"",
        replay: Replay | None = None,
    ):
        self.keyterms = keyterms
        upstream = ScriptedUpstream(
            self, engine, language=language, emit=emit, position=position, previous_text=previous_text
        )
        upstream.resume_audio = context
        self.made.append(upstream)
        return upstream

    @property
    def last(self) -> ScriptedUpstream:
        return self.made[-1]


class Page:
    """The relay's Sink: every message as the browser would read it."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.closed: Ending | None = None

    async def ready(self, session_uuid: str, options: LiveOptions) -> None:
        self.messages.append(messages.ready(session_uuid, options))

    async def partial(self, text: str) -> None:
        self.messages.append(messages.partial(text))

    async def committed(self, segment: Segment, words: list[dict] | None = None) -> None:
        self.messages.append(messages.committed(segment))

    async def status(self, state: str, message: str) -> None:
        self.messages.append(messages.status(state, message))

    async def error(self, code: str, message: str, *, fatal: bool = True) -> None:
        self.messages.append(messages.error(code, message, fatal=fatal))

    async def ended(self, transcript_id: int) -> None:
        self.messages.append(messages.ended(transcript_id))

    async def close_page(self, how: Ending) -> None:
        assert self.closed is None, f"closed twice: {self.closed} then {how}"
        self.closed = how

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m["type"] == kind]

    def one(self, kind: str) -> dict:
        (message,) = self.of_type(kind)
        return message

    @property
    def kinds(self) -> list[str]:
        return [m["type"] for m in self.messages]


class Viewers:
    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def partial(self, text: str) -> None:
        self.messages.append(messages.partial(text))

    async def committed(self, segment: Segment) -> None:
        self.messages.append(messages.committed(segment))

    async def ended(self) -> None:
        self.messages.append(messages.VIEWERS_ENDED)


@dataclass
class Harness:
    """One relay with its scripted page, viewers and upstreams."""

    upstreams: Upstreams = field(default_factory=Upstreams)
    page: Page = field(default_factory=Page)
    viewers: Viewers = field(default_factory=Viewers)
    skew: float = 0.0  # seconds the relay's clock is ahead of the real one

    def __post_init__(self) -> None:
        self.relay = LiveRelay(
            store=DatabaseStore(),
            sink=self.page,
            viewers=lambda session: self.viewers,
            upstreams=self.upstreams,
            clock=lambda: time.monotonic() + self.skew,
        )

    async def start(self, user, engine: str = "local", **options) -> LiveRelay:
        await self.relay.start(user, LiveOptions(engine, options.pop("language", ""), **options))
        return self.relay

    @property
    def upstream(self) -> ScriptedUpstream:
        return self.upstreams.last

    async def commit(self, text: str, start: float = 0.0, end: float = 1.0, words=None) -> None:
        await self.upstream.say(Committed(text=text, start=start, end=end, words=words))

    async def ended(self) -> None:
        """Until the relay's ending (whichever) has run."""
        assert self.relay.ending is not None, "the relay is not ending"
        await asyncio.wait_for(asyncio.shield(self.relay.ending), 10)

    async def flushed(self) -> None:
        """Until the pump has sent everything accepted."""
        for _ in range(500):
            if not self.relay.buffer:
                return
            await asyncio.sleep(0.005)
        raise AssertionError("the buffer did not drain")
