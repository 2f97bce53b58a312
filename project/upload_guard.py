"""An ASGI guard in front of Django that enforces request body size limits.

Under ASGI, Django spools the whole request body to a temporary file before
any middleware or view runs, so a size check in a view comes after a 3 GB
body is already on disk. This guard refuses a request whose declared
Content-Length is over the limit before reading a byte of it, and cuts off a
body that streams past the limit (chunked, or lying about its length) as it
crosses it: Django sees a disconnect, discards what it spooled, and the guard
answers 413 itself.

Daphne adds a trap of its own (Twisted spools the whole body before Daphne
calls the application); project/framework.py applies the same limits there,
while the body is still arriving.

The limit of each request comes from the function named by the
REQUEST_BODY_LIMITS setting: `(scope) -> (bytes, message[, in_memory])`.
A small limit may ask for the body to be kept in memory (the pieces of a
resumable upload: they are written once, to their final storage, and to no
spool on the way); every other body is spooled under FILE_UPLOAD_TEMP_DIR
(`SpoolingASGIHandler`), never in the system temp directory.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from contextvars import ContextVar
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler
from django.utils.module_loading import import_string


class BodyLimit(NamedTuple):
    limit: int  # bytes
    message: str  # why, for the person refused
    in_memory: bool = False  # keep the (small) body in memory rather than spooling it to disk


def body_limit_for(scope: dict) -> BodyLimit:
    """The byte limit for this request and the message that explains it."""
    return BodyLimit(*import_string(settings.REQUEST_BODY_LIMITS)(scope))


# Set by the guard for the request it passes on: a body up to this size stays
# in memory in Django's spool (0: Django's FILE_UPLOAD_MAX_MEMORY_SIZE).
_memory_body_bytes: ContextVar[int] = ContextVar("memory_body_bytes", default=0)


class SpoolingASGIHandler(ASGIHandler):
    """Django's ASGI handler, spooling request bodies under
    FILE_UPLOAD_TEMP_DIR instead of the system temp directory, and keeping a
    body in memory where the guard said it may."""

    async def read_body(self, receive):
        in_memory = _memory_body_bytes.get()
        spool = tempfile.SpooledTemporaryFile(
            max_size=max(in_memory, settings.FILE_UPLOAD_MAX_MEMORY_SIZE),
            mode="w+b",
            dir=settings.FILE_UPLOAD_TEMP_DIR,
        )
        # Django's loop, with the spool above (its own opens one of its own).
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                spool.close()
                raise RequestAborted()
            if "body" in message:
                spool.write(message["body"])
            if not message.get("more_body", False):
                break
        spool.seek(0)
        return spool


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
    def __init__(self, app: Callable, limit_for: Callable[[dict], tuple] = body_limit_for):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit, message, in_memory = BodyLimit(*self.limit_for(scope))
        _memory_body_bytes.set(limit if in_memory else 0)
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
