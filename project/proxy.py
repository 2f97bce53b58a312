"""Proxy headers, believed only from the proxies named in TRUSTED_PROXIES.

Behind a reverse proxy every connection comes from the proxy: the person's
address, the scheme they used (HTTPS) and the host they asked for arrive in
X-Forwarded-For, -Proto and -Host. Anyone can send those headers, though,
so they are used only when the connection comes from a trusted proxy, and
removed from every request otherwise: a forged X-Forwarded-For cannot dodge
the login lockout or the rate limits (which read the connection's address),
nor a forged X-Forwarded-Proto make plain HTTP pass for HTTPS.

An ASGI middleware in front of everything, so the pages, the API and the
WebSockets all see the same client, scheme and host (Daphne's own
--proxy-headers trusts any sender, so it is not used).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

FORWARDED_HEADERS = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded")
SECURE_SCHEMES = {"http": "https", "ws": "wss"}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def is_trusted(address: str, trusted: Iterable[Network]) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in trusted)


def client_address(peer: str, forwarded_for: list[str], trusted: Iterable[Network]) -> str:
    """The nearest address that is not one of our proxies, walking the chain
    from the right (each proxy appends the address it was connected from):
    what lies left of it was written by the client and proves nothing."""
    trusted = list(trusted)
    chain = [*forwarded_for, peer]
    while len(chain) > 1 and is_trusted(chain[-1], trusted):
        chain.pop()
    return chain[-1] if _address(chain[-1]) else peer


def _values(headers: list[tuple[bytes, bytes]], name: bytes) -> list[str]:
    return [
        part.strip()
        for key, value in headers
        if key.lower() == name
        for part in value.decode("latin-1").split(",")
        if part.strip()
    ]


def rewrite(scope: dict, trusted: list[Network]) -> dict:
    headers = list(scope.get("headers") or [])
    kept = [(key, value) for key, value in headers if key.lower() not in FORWARDED_HEADERS]
    peer = (scope.get("client") or (None, 0))[0]
    scope = dict(scope, headers=kept)
    if not peer or not is_trusted(peer, trusted):
        return scope
    if forwarded_for := _values(headers, b"x-forwarded-for"):
        scope["client"] = (client_address(peer, forwarded_for, trusted), 0)
    # The nearest proxy's view (the rightmost value): it is the one we trust.
    if (proto := _values(headers, b"x-forwarded-proto")) and proto[-1].lower() == "https":
        scope["scheme"] = SECURE_SCHEMES.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
    if host := _values(headers, b"x-forwarded-host"):
        scope["headers"] = [(key, value) for key, value in kept if key.lower() != b"host"]
        scope["headers"].append((b"host", host[-1].encode("latin-1")))
    return scope


class TrustedProxyHeaders:
    def __init__(self, app, trusted: list[Network]):
        self.app = app
        self.trusted = list(trusted)

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            scope = rewrite(scope, self.trusted)
        return await self.app(scope, receive, send)
