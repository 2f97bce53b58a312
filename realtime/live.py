"""The live captions socket: browser microphone PCM in, captions out.

This is the browser protocol only: who may connect, the query string, which
frames are acceptable, the JSON messages and the close codes. The session
itself (buffer, recording, upstream, resume and hand-over, heartbeats, the
ways it ends) is the LiveRelay's (realtime/relay.py).
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import parse_qs

from django.conf import settings
from django.core.exceptions import ValidationError

from realtime import messages
from realtime.inboxless import InboxlessConsumer
from realtime.relay import Ending, LiveOptions, LiveRelay, Segment
from realtime.services import LiveRefused
from realtime.store import DatabaseStore
from realtime.viewers import GroupViewers
from transcripts.engines.base import TranscriptionOptions
from transcripts.engines.registry import capabilities, default_engine, label
from transcripts.forms import parse_keyterms

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_REFUSED = 4429
CLOSE_CODES = {
    Ending.BUFFER_FULL: 1013,  # try again later
    Ending.FRAME_TOO_LARGE: 1009,
    Ending.MALFORMED_FRAME: 1003,
    Ending.HANDED_OVER: 4409,
}
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# Close codes of a page that closed its socket on purpose (closed, navigated
# away); any other end of the connection is a drop the page may come back from.
PAGE_LEFT = (1000, 1001)


def live_options(scope) -> LiveOptions:
    """The socket's query string: ?engine=&language=[&resume=&shown=]."""
    query = {key: values[0] for key, values in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
    engine = query.get("engine", "")
    if engine not in ("local", "scribe"):
        engine = default_engine()
    language = query.get("language", "").lower()
    shown = query.get("shown", "")
    language = language if LANGUAGE.match(language) else ""
    return LiveOptions(
        engine,
        language or capabilities(engine).default_language() or "",
        query.get("resume", ""),
        int(shown) if shown.isascii() and shown.isdigit() and len(shown) < 10 else None,
        live_keyterms(query.get("keyterms", "")),
    )


# Every key term is a parameter of the Scribe socket's URL: keep it short.
LIVE_KEYTERMS_MAX = 100


def live_keyterms(text: str) -> tuple[str, ...]:
    """The page checks key terms as it sends them; a term that still breaks
    Scribe's limits (or too many) is dropped rather than failing the session."""
    try:
        return tuple(parse_keyterms(text[:8000], limit=LIVE_KEYTERMS_MAX))
    except ValidationError:
        return tuple(term for term in (t.strip() for t in text.split(",")) if _usable(term))[:LIVE_KEYTERMS_MAX]


def _usable(term: str) -> bool:
    try:
        return bool(parse_keyterms(term))
    except ValidationError:
        return False


def refusal(options: LiveOptions) -> str | None:
    """Why the engine cannot caption in the language asked for, if it cannot."""
    offers = capabilities(options.engine)
    if options.language and options.language not in offers.languages:
        return offers.refusals(TranscriptionOptions(language=options.language), label(options.engine))["language"]
    return None


class LiveConsumer(InboxlessConsumer):
    """Also the relay's Sink: what the relay tells the page becomes JSON here."""

    relay: LiveRelay | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)  # before accept: the handshake is refused
            return
        await self.accept()
        options = live_options(self.scope)
        unsupported = refusal(options)
        if unsupported:
            await self.error("unsupported_language", unsupported)
            await self.close(code=CLOSE_REFUSED)
            return
        self.relay = LiveRelay(
            store=DatabaseStore(), sink=self, viewers=lambda session: GroupViewers(self.channel_layer, session)
        )
        try:
            await self.relay.start(user, options)
        except LiveRefused as refused:
            await self.error(refused.code, str(refused))
            await self.close(code=CLOSE_REFUSED)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        relay = self.relay
        if relay is None or not relay.streaming:
            return
        if bytes_data is None:
            self.receive_text(relay, text_data or "")
        elif len(bytes_data) > settings.LIVE_MAX_FRAME_BYTES:
            relay.end(Ending.FRAME_TOO_LARGE)
        elif len(bytes_data) % 2:
            relay.end(Ending.MALFORMED_FRAME, "An audio frame was not 16-bit PCM.")
        else:
            relay.accept(bytes_data)

    def receive_text(self, relay: LiveRelay, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if isinstance(message, dict) and message.get("type") == "stop":
            relay.end(Ending.STOP)
        else:
            relay.end(Ending.MALFORMED_FRAME)

    async def disconnect(self, code: int) -> None:
        if self.relay is not None:
            await self.relay.disconnected(code, page_left=code in PAGE_LEFT)

    # --- the relay's Sink --------------------------------------------------------------

    async def ready(self, session_uuid: str, options: LiveOptions) -> None:
        await self.send_json(messages.ready(session_uuid, options))

    async def partial(self, text: str) -> None:
        await self.send_json(messages.partial(text))

    async def committed(self, segment: Segment, words: list[dict] | None = None) -> None:
        await self.send_json(messages.committed(segment))

    async def status(self, state: str, message: str) -> None:
        await self.send_json(messages.status(state, message))

    async def error(self, code: str, message: str, *, fatal: bool = True) -> None:
        await self.send_json(messages.error(code, message, fatal=fatal))

    async def ended(self, transcript_id: int) -> None:
        await self.send_json(messages.ended(transcript_id))

    async def close_page(self, how: Ending) -> None:
        await self.close(code=CLOSE_CODES.get(how, 1000))

    async def send_json(self, message: dict) -> None:
        try:
            await self.send(text_data=json.dumps(message))
        except Exception as error:  # the browser is gone; the session is still saved
            log.debug("Live message not delivered: %s", type(error).__name__)
