"""X-Forwarded-* are believed only from TRUSTED_PROXIES (project/proxy.py):
from a trusted proxy they give the client's address, the scheme and the
host; from anyone else they are removed before the site sees them."""

from __future__ import annotations

import ipaddress

import pytest
from asgiref.sync import async_to_sync

from project.proxy import TrustedProxyHeaders, client_address

PROXY = "10.0.0.5"
TRUSTED = [ipaddress.ip_network("10.0.0.5"), ipaddress.ip_network("172.30.0.0/16")]


def seen_by_the_site(peer: str, headers: dict[str, str], kind: str = "http") -> dict:
    seen = {}

    async def site(scope, receive, send):
        seen.update(scope)

    scope = {
        "type": kind,
        "scheme": "http" if kind == "http" else "ws",
        "client": (peer, 50000),
        "headers": [(b"host", b"10.0.0.9:8000")] + [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    async_to_sync(TrustedProxyHeaders(site, TRUSTED))(scope, None, None)
    seen["header_map"] = {key.decode(): value.decode() for key, value in seen["headers"]}
    return seen


FORGED = {
    "X-Forwarded-For": "198.51.100.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "bank.example",
    "Forwarded": "for=198.51.100.7;proto=https",
}


@pytest.mark.parametrize("kind", ["http", "websocket"])
def test_headers_from_an_untrusted_peer_are_removed_and_ignored(kind):
    seen = seen_by_the_site("203.0.113.9", FORGED, kind)
    assert seen["client"][0] == "203.0.113.9"
    assert seen["scheme"] in ("http", "ws")
    assert seen["header_map"] == {"host": "10.0.0.9:8000"}


@pytest.mark.parametrize(("kind", "secure"), [("http", "https"), ("websocket", "wss")])
def test_a_trusted_proxy_gives_the_client_scheme_and_host(kind, secure):
    seen = seen_by_the_site(
        PROXY,
        {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "verbatim.example"},
        kind,
    )
    assert seen["client"][0] == "198.51.100.7"
    assert seen["scheme"] == secure
    assert seen["header_map"] == {"host": "verbatim.example"}


def test_a_trusted_proxy_saying_http_leaves_the_request_plain():
    seen = seen_by_the_site(PROXY, {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "http"})
    assert seen["scheme"] == "http"


@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        # The client wrote the left part; the proxy appended who connected to it.
        (["1.2.3.4", "198.51.100.7"], "198.51.100.7"),
        # Two proxies of ours: skip both to reach the client.
        (["198.51.100.7", "172.30.1.1"], "198.51.100.7"),
        (["not-an-address"], PROXY),
        (["10.0.0.5"], "10.0.0.5"),
    ],
)
def test_the_client_is_the_nearest_address_that_is_not_our_proxy(chain, expected):
    assert client_address(PROXY, chain, TRUSTED) == expected


def test_the_settings_refuse_a_proxy_that_is_not_an_address(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from project.env import env_networks

    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.5, caddy")
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES='caddy'"):
        env_networks("TRUSTED_PROXIES")
