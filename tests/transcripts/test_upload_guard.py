"""Request body limits: a real Daphne refuses an oversized upload before it
reads the body, and cuts off a body that streams past the limit."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from django.conf import settings

from project.upload_guard import BodySizeGuard
from transcripts.media.limits import FORM_OVERHEAD_BYTES

UPLOAD_PATH = "/transcripts/upload/file/"
LIMIT = 1_000_000  # MAX_UPLOAD_SIZE=1MB
UPLOAD_BODY_LIMIT = LIMIT + FORM_OVERHEAD_BYTES


def connect(base_url: str) -> socket.socket:
    parts = urlsplit(base_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    return sock


def request_head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: multipart/form-data; boundary=b", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock: socket.socket, timeout: float = 5) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
        if b"\r\n\r\n" in data:
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                None,
            )
            if length is not None and len(body) >= length:
                break
    return data


def body_of(response: bytes) -> dict:
    return json.loads(response.partition(b"\r\n\r\n")[2])


def tmp_listing() -> list[str]:
    return sorted(path.name for path in Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir())


@pytest.fixture
def site(make_site):
    return make_site(worker=False, MAX_UPLOAD_SIZE="1MB")


@pytest.mark.slow
def test_declared_length_over_the_limit_is_refused_before_the_body_is_sent(site):
    before = tmp_listing()
    with connect(site.base_url) as sock:
        sock.sendall(request_head(UPLOAD_PATH, f"Content-Length: {50 * 1000**2}"))
        started = time.monotonic()
        response = read_response(sock)
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert time.monotonic() - started < 3
    assert body_of(response)["error"] == "This file is larger than the 1 MB limit."
    assert tmp_listing() == before
    assert httpx.get(site.base_url + "/").status_code == 200  # the server is fine


@pytest.mark.slow
def test_declared_length_over_the_limit_with_expect_continue_gets_no_continue(site):
    with connect(site.base_url) as sock:
        sock.sendall(request_head(UPLOAD_PATH, f"Content-Length: {5 * 1000**2}", "Expect: 100-continue"))
        response = read_response(sock)
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert b"100 Continue" not in response


@pytest.mark.slow
def test_other_requests_have_a_small_limit(site):
    with connect(site.base_url) as sock:
        sock.sendall(request_head("/accounts/login/", f"Content-Length: {200 * 1000**2}"))
        response = read_response(sock)
    assert response.startswith(b"HTTP/1.1 413")
    assert body_of(response)["error"] == "This request is too large."


@pytest.mark.slow
def test_chunked_body_is_cut_off_as_it_crosses_the_limit(site):
    before = tmp_listing()
    chunk = b"x" * 65536
    sent = 0
    response = b""
    with connect(site.base_url) as sock:
        sock.sendall(request_head(UPLOAD_PATH, "Transfer-Encoding: chunked"))
        while sent < 40 * UPLOAD_BODY_LIMIT:
            readable, writable, _ = select.select([sock], [sock], [], 5)
            if readable:
                response = read_response(sock)
                break
            if writable:
                try:
                    sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    response = read_response(sock)
                    break
                sent += len(chunk)
    assert response.startswith(b"HTTP/1.1 413"), (sent, response[:200])
    assert body_of(response)["error"] == "This file is larger than the 1 MB limit."
    # Cut off near the limit: what was sent beyond it sat in socket buffers.
    assert UPLOAD_BODY_LIMIT < sent < UPLOAD_BODY_LIMIT + 8 * 1000**2
    time.sleep(0.5)
    assert tmp_listing() == before
    assert httpx.get(site.base_url + "/").status_code == 200


@pytest.mark.slow
def test_body_under_the_limit_reaches_django(site):
    with connect(site.base_url) as sock:
        body = b"--b--\r\n"
        sock.sendall(request_head(UPLOAD_PATH, f"Content-Length: {len(body)}") + body)
        response = read_response(sock)
    # Django answers (CSRF or sign-in), not the guard.
    assert not response.startswith(b"HTTP/1.1 413"), response[:200]


# --- the ASGI guard itself, with a fake application ----------------------------


class FakeApp:
    def __init__(self, respond: bool = True):
        self.calls = 0
        self.received: list[dict] = []
        self.respond = respond

    async def __call__(self, scope, receive, send):
        self.calls += 1
        if scope["type"] != "http":
            return
        while True:
            event = await receive()
            self.received.append(event)
            if event["type"] == "http.disconnect" or not event.get("more_body"):
                break
        if self.respond and self.received[-1]["type"] != "http.disconnect":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})


def limit_of(size: int):
    return lambda scope: (size, "Too big.")


def http_scope(content_length: int | None = None) -> dict:
    headers = [(b"content-length", str(content_length).encode())] if content_length is not None else []
    return {"type": "http", "path": UPLOAD_PATH, "headers": headers}


async def run_guard(app, scope, events: list[dict], limit: int = 100) -> tuple[list[dict], int]:
    queue = list(events)
    pulled = 0

    async def receive():
        nonlocal pulled
        pulled += 1
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    sent: list[dict] = []

    async def send(event):
        sent.append(event)

    await BodySizeGuard(app, limit_for=limit_of(limit))(scope, receive, send)
    return sent, pulled


def body(size: int, more: bool) -> dict:
    return {"type": "http.request", "body": b"x" * size, "more_body": more}


@pytest.mark.asyncio
async def test_guard_refuses_a_declared_length_without_calling_the_app():
    app = FakeApp()
    sent, pulled = await run_guard(app, http_scope(101), [body(101, False)])
    assert app.calls == 0 and pulled == 0
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {"error": "Too big."}


@pytest.mark.asyncio
async def test_guard_cuts_off_a_stream_that_crosses_the_limit():
    app = FakeApp()
    sent, pulled = await run_guard(app, http_scope(), [body(60, True), body(60, True), body(60, False)])
    assert [event["type"] for event in app.received] == ["http.request", "http.disconnect"]
    assert pulled == 2  # the third chunk was never read
    assert sent[0]["status"] == 413


@pytest.mark.asyncio
async def test_guard_catches_a_body_longer_than_its_declared_length():
    app = FakeApp()
    sent, _ = await run_guard(app, http_scope(50), [body(50, True), body(80, False)])
    assert app.received[-1]["type"] == "http.disconnect"
    assert sent[0]["status"] == 413


@pytest.mark.asyncio
async def test_guard_passes_a_body_under_the_limit_untouched():
    app = FakeApp()
    sent, _ = await run_guard(app, http_scope(100), [body(40, True), body(60, False)])
    assert sum(len(event["body"]) for event in app.received) == 100
    assert sent[0]["status"] == 200 and len(sent) == 2


@pytest.mark.asyncio
async def test_guard_passes_websockets_through():
    app = FakeApp()
    await BodySizeGuard(app, limit_for=limit_of(1))({"type": "websocket", "path": "/ws/jobs/"}, None, None)
    assert app.calls == 1


def test_guard_default_limits_follow_settings(settings):
    from project.upload_guard import body_limit_for
    from transcripts.media.limits import OTHER_REQUEST_LIMIT_BYTES

    settings.MAX_UPLOAD_BYTES = 5_000_000
    limit, message, in_memory = body_limit_for({"path": UPLOAD_PATH})
    assert limit == 5_000_000 + FORM_OVERHEAD_BYTES and message == "This file is larger than the 5 MB limit."
    assert not in_memory
    assert body_limit_for({"path": "/accounts/login/"})[0] == OTHER_REQUEST_LIMIT_BYTES
    assert asyncio.iscoroutinefunction(BodySizeGuard.__call__)


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise KeyError("VmHWM")


@pytest.mark.slow
def test_a_large_multipart_upload_is_not_held_in_memory(make_site, tmp_path):
    """Twisted parses multipart bodies into memory and Daphne queues whole
    bodies; the guard switches both off (a 1 GB upload once cost 13 GB)."""
    site = make_site(worker=False)
    daphne = site.processes[0].popen.pid
    blob = tmp_path / "big.bin"
    with blob.open("wb") as file:
        file.truncate(60 * 1000**2)
    httpx.get(site.base_url + "/accounts/login/")
    before = vm_hwm_mb(daphne)
    with blob.open("rb") as file:
        response = httpx.post(site.base_url + UPLOAD_PATH, files={"file": ("big.wav", file)}, timeout=120)
    assert response.status_code == 403  # no CSRF token: Django parsed the whole body, then refused
    assert vm_hwm_mb(daphne) - before < 25
