"""An ASGI guard in front of Django that enforces request body size limits.

Under ASGI, Django spools the whole request body to a temporary file before
any middleware or view runs, so a size check in a view comes after a 3 GB
body is already on disk. This guard refuses a request whose declared
Content-Length is over the limit before reading a byte of it, and cuts off a
body that streams past the limit (chunked, or lying about its length) as it
crosses it: Django sees a disconnect, discards what it spooled, and the guard
answers 413 itself.

Daphne adds a trap of its own: Twisted reads the *whole* body into a
temporary file before Daphne even calls the ASGI application, so an ASGI
guard alone answers only after a 3 GB body has arrived. `protect_daphne`
hooks Daphne's request class so the same limits apply while the body is
still arriving: a declared Content-Length over the limit is answered 413
right after the headers, and a body that streams past it (chunked) is cut
off as it crosses it. It also stops Twisted from parsing multipart bodies
in memory (see gotLength below).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from io import BytesIO
from urllib.parse import unquote

from django.conf import settings

from transcripts.formatting import human_size

# Room for the multipart boundaries and the form fields around the file.
FORM_OVERHEAD_BYTES = 1024 * 1024
# Any request that is not an upload is small; nothing else needs more.
OTHER_REQUEST_LIMIT_BYTES = 20 * 1024 * 1024
UPLOAD_PATH_PREFIXES = ("/transcripts/upload",)


log = logging.getLogger(__name__)

# After a refusal the connection is half-closed (so the client reads the 413
# instead of a reset) and dropped for good after this long.
REFUSED_LINGER_SECONDS = 2.0


def body_limit_for(scope: dict) -> tuple[int, str]:
    """The byte limit for this request and the message that explains it."""
    if scope["path"].startswith(UPLOAD_PATH_PREFIXES):
        limit = settings.MAX_UPLOAD_BYTES
        return limit + FORM_OVERHEAD_BYTES, f"This file is larger than the {human_size(limit)} limit."
    return OTHER_REQUEST_LIMIT_BYTES, "This request is too large."


def declared_length(scope: dict) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def too_large_response(message: str) -> bytes:
    body = json.dumps({"error": message}).encode()
    head = (
        "HTTP/1.1 413 Content Too Large\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def send_too_large(send: Callable, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeGuard:
    def __init__(self, app: Callable, limit_for: Callable[[dict], tuple[int, str]] = body_limit_for):
        self.app = app
        self.limit_for = limit_for
        protect_daphne()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit, message = self.limit_for(scope)
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            return await send_too_large(send, message)

        received = 0
        cut_off = False
        response_started = False

        async def limited_receive() -> dict:
            nonlocal received, cut_off
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit:
                    cut_off = True
                    return {"type": "http.disconnect"}
            return event

        async def watched_send(event: dict) -> None:
            nonlocal response_started
            if event["type"] == "http.response.start":
                response_started = True
            await send(event)

        await self.app(scope, limited_receive, watched_send)
        if cut_off and not response_started:
            await send_too_large(send, message)


# --- Daphne: refuse while the body is still arriving -----------------------------


def protect_daphne() -> None:
    """Patch Daphne's request class (once per process) so body limits apply
    as Twisted receives the body, not after it has all been spooled."""
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:  # another ASGI server: the ASGI guard alone applies
        return
    if getattr(WebRequest, "_body_size_guarded", False):
        return
    original_got_length = WebRequest.gotLength
    original_content_chunk = WebRequest.handleContentChunk
    original_process = WebRequest.process

    def gotLength(self, length):  # noqa: N802 (Twisted's name)
        # Twisted would parse a multipart body into `request.args` (which
        # Daphne never reads) by loading all of it into memory: 1 GB of upload
        # cost over 10 GB of RAM. Django parses the body itself, streaming.
        self._parsePOSTFormSubmission = False
        path = unquote(bytes(getattr(self.channel, "_path", b"/")).split(b"?", 1)[0].decode("latin-1"))
        self._body_limit, self._body_message = body_limit_for({"path": path})
        self._body_received = 0
        self._body_refused = False
        if length is not None and length > self._body_limit:
            self.content = BytesIO()
            refuse_early(self)
            return None
        return original_got_length(self, length)

    def handleContentChunk(self, data):  # noqa: N802
        if getattr(self, "_body_refused", False):
            return None  # drained and dropped until the connection closes
        self._body_received = getattr(self, "_body_received", 0) + len(data)
        if self._body_received > getattr(self, "_body_limit", OTHER_REQUEST_LIMIT_BYTES):
            refuse_early(self)
            return None
        return original_content_chunk(self, data)

    def process(self):
        if getattr(self, "_body_refused", False):
            return None  # answered already; the application never sees it
        body = self.content
        if isinstance(body, BytesIO):  # a small body (Twisted keeps those in memory)
            return original_process(self)
        # Daphne would put the whole body into the application's queue at
        # once (1 GB of upload, 1 GB of RAM). Let it queue an empty body, then
        # feed the real one as the application reads it.
        self.content = BytesIO()
        try:
            result = original_process(self)
        finally:
            self.content = body
        queue = self.application_queue
        if queue is not None and queue.qsize() == 1:
            queue.get_nowait()
            asyncio.ensure_future(feed_body(self, queue, body))
        return result

    WebRequest.gotLength = gotLength
    WebRequest.handleContentChunk = handleContentChunk
    WebRequest.process = process
    WebRequest._body_size_guarded = True


# The body goes to the application in pieces of this size, at most this many
# queued at a time: a few MiB in memory whatever the upload's size.
FEED_CHUNK_BYTES = 1024 * 1024
FEED_QUEUED_CHUNKS = 4


async def feed_body(request, queue, body) -> None:
    """Put the spooled request body into the application's queue as fast as
    it takes it, never more than FEED_QUEUED_CHUNKS ahead."""
    body.seek(0)
    while True:
        while queue.qsize() >= FEED_QUEUED_CHUNKS:
            await asyncio.sleep(0.002)
        if getattr(request, "_disconnected", False) or request.finished:
            return  # Daphne told the application about the disconnect
        try:
            chunk = body.read(FEED_CHUNK_BYTES)
        except ValueError:  # the request was cleaned up and its file closed
            return
        more_body = len(chunk) == FEED_CHUNK_BYTES
        queue.put_nowait({"type": "http.request", "body": chunk, "more_body": more_body})
        if not more_body:
            return


def refuse_early(request) -> None:
    """Answer 413 on the raw connection and close it. The write side is shut
    first and what the client still sends is read and dropped, so the client
    sees the answer rather than a connection reset."""
    from twisted.internet import reactor

    request._body_refused = True
    # Twisted would send "100 Continue" after our answer; there is nothing to continue.
    request.requestHeaders.removeHeader(b"Expect")
    with contextlib.suppress(Exception):
        request.content.close()
    request.content = BytesIO()
    transport = request.channel.transport
    log.warning("Refused a request body over %s bytes", request._body_limit)
    transport.write(too_large_response(request._body_message))
    try:
        transport.loseWriteConnection()
    except (AttributeError, NotImplementedError):  # TLS and others: a plain close
        transport.loseConnection()
        return
    reactor.callLater(REFUSED_LINGER_SECONDS, transport.abortConnection)
