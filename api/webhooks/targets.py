"""Where a webhook may be sent (server-side request forgery).

A user's URL must not make the server talk to itself or its private
network: loopback, private, link-local (cloud metadata), shared, reserved
and multicast addresses are refused unless the operator allows them
(WEBHOOK_ALLOW_PRIVATE_TARGETS). The check runs when the URL is saved and
again at every delivery, and the delivery connects to the very address that
was checked, so a name that resolves elsewhere later (DNS rebinding) gains
nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """str(self) says why, for the owner of the webhook."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect, and what to call the host."""

    url: str  # with the checked IP address in place of the host name
    host_header: str
    sni_hostname: str | None  # for https: the name the certificate must carry


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TargetRefused(f"The host “{host}” could not be resolved.") from error
    addresses: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def check(url: str) -> Target:
    """The target to connect to for `url`, or TargetRefused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("A webhook URL must start with http:// or https:// and name a host.")
    if parts.username or parts.password:
        raise TargetRefused("A webhook URL cannot carry a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise TargetRefused("The port in this webhook URL is not valid.") from error
    addresses = resolve(parts.hostname, port)
    if not addresses:
        raise TargetRefused(f"The host “{parts.hostname}” has no address.")
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        for address in addresses:
            if not is_public(address):
                raise TargetRefused(
                    f"Webhooks cannot be sent to {address} (a private, loopback or link-local address) on this server."
                )
    address = addresses[0]
    host = f"[{address}]" if address.version == 6 else str(address)
    pinned = urlunsplit((parts.scheme, f"{host}:{port}", parts.path or "/", parts.query, ""))
    return Target(pinned, parts.netloc, parts.hostname if parts.scheme == "https" else None)
