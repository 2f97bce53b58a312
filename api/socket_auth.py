"""WebSocket authentication for API clients, in front of the consumers.

A browser page opens its sockets with its session cookie, so those are
checked for their Origin (cross-site WebSocket hijacking) and carry the
session's user. An API client has no cookie: it sends a single-use token in
the query string (`?token=`, what a browser's WebSocket can send), or an API
token in a header (`xi-api-key` or `Authorization: Bearer`, from a server).
Such a connection is authenticated by that token alone, its cookies
ignored, so its Origin does not matter; the consumer finds `scope["user"]`
set as usual (anonymous when the token is not valid) and needs no change.
A single-use token is good only for the socket it was minted for, and a
read-only API token opens none. The Scribe-compatible socket takes tokens
only: without one it is opened anonymous and answers Scribe's auth_error
(as Scribe does), rather than being refused by the cookie side's checks.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from api.authentication import bearer_secret, token_user
from api.models import SocketPurpose, SocketToken

# The sockets an API client may open, and the single-use tokens each takes.
SCRIBE_REALTIME = "/v1/speech-to-text/realtime"
SOCKET_PURPOSES = {
    "/ws/live/": SocketPurpose.LIVE,
    SCRIBE_REALTIME: SocketPurpose.REALTIME_SCRIBE,
}
TOKEN_ONLY = {SCRIBE_REALTIME}


def header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def credentials(scope: dict) -> tuple[str, str] | None:
    """("single_use" | "api", secret) when the connection carries a token."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return "single_use", query["token"][0]
    key = header(scope, b"xi-api-key")
    if key is not None:
        return "api", key
    secret = bearer_secret(header(scope, b"authorization") or "")
    if secret is not None:
        return "api", secret
    return None


def user_for(kind: str, secret: str, path: str):
    purpose = SOCKET_PURPOSES.get(path)
    if purpose is None:
        return None
    if kind == "single_use":
        return SocketToken.consume(secret, purpose)
    found = token_user(secret)
    if found is None or found[1].read_only:
        return None
    return found[0]


class TokenSocketAuth:
    def __init__(self, token_app, cookie_app):
        self.token_app = token_app
        self.cookie_app = cookie_app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.cookie_app(scope, receive, send)
        found = credentials(scope)
        if found is None and scope["path"] in TOKEN_ONLY:
            return await self.token_app({**scope, "user": AnonymousUser(), "auth": None}, receive, send)
        if found is None:
            return await self.cookie_app(scope, receive, send)
        user = await database_sync_to_async(user_for)(*found, scope["path"])
        scope = {**scope, "user": user or AnonymousUser(), "auth": found[0]}
        return await self.token_app(scope, receive, send)
