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
REQUEST_BODY_LIMITS setting: `(scope) -> (bytes, message)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.utils.module_loading import import_string


def body_limit_for(scope: dict) -> tuple[int, str]:
    """The byte limit for this request and the message that explains it."""
    return import_string(settings.REQUEST_BODY_LIMITS)(scope)


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
