"""A fake ElevenLabs Scribe server: a real aiohttp server on loopback that
speaks the documented protocol (../shared/scribe-api.md).

One server, one port, both sides:
- REST (`tests/fakes/scribe_rest.py`): speech-to-text, stored transcripts,
  single-use tokens, signed webhooks.
- Realtime WebSocket (`tests/fakes/scribe_realtime.py`).

It runs its own event loop in a background thread so synchronous tests,
Django test clients, Celery workers in other processes and the official
SDK can all talk to it. Everything it receives is recorded, and faults are
injected per endpoint from a queue (`fake.faults.push(...)`).

    with FakeScribe() as fake:
        fake.base_url      # http://127.0.0.1:PORT
        fake.api_key       # the one valid key
        fake.requests      # [RecordedRequest, ...]
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN_LIFETIME_SECONDS = 15 * 60


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    # For multipart requests: every part in order as (name, value); file parts
    # are recorded as (name, {"filename", "content_type", "size"}).
    parts: list[tuple[str, Any]] = field(default_factory=list)
    body: bytes = b""
    received_at: float = field(default_factory=time.monotonic)
    # (name, Content-Type header or None) for every multipart part, in order.
    part_content_types: list[tuple[str, str | None]] = field(default_factory=list)
    # What the fake created for this request (request_id, transcription_id), if anything.
    response: dict[str, Any] | None = None

    def fields(self, name: str) -> list[Any]:
        return [value for key, value in self.parts if key == name]


@dataclass
class Fault:
    """What to do instead of answering normally, once."""

    kind: str  # "status", "drop_after_body", "slow", ...
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0


class FaultQueue:
    """Faults queued per endpoint name ("stt", "transcripts", "token", "realtime")."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = defaultdict(deque)
        self._lock = threading.Lock()

    def push(self, endpoint: str, *faults: Fault) -> None:
        with self._lock:
            self._queues[endpoint].extend(faults)

    def pop(self, endpoint: str) -> Fault | None:
        with self._lock:
            queue = self._queues[endpoint]
            return queue.popleft() if queue else None

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()


class FakeScribe:
    def __init__(
        self,
        *,
        api_key: str | None = None,
        latency: float = 0.0,
        webhook_url: str | None = None,
        webhook_secret: str = "whsec_test_secret",
    ):
        self.api_key = api_key or f"sk_fake_{secrets.token_hex(12)}"
        self.latency = latency  # seconds each speech-to-text request takes
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.requests: list[RecordedRequest] = []
        self.faults = FaultQueue()
        self.transcripts: dict[str, dict] = {}  # transcription_id -> response body
        self.tokens: dict[str, dict] = {}  # token -> {"type", "expires_at", "used"}
        self.in_flight = 0
        self.peak_in_flight = 0
        # 429 storms: until `storm_until` (time.monotonic()) every transcription
        # is refused with 429 (with `storm_retry_after` as Retry-After when set);
        # above `account_limit` requests in flight, Scribe's concurrency 429.
        self.storm_until = 0.0
        self.storm_retry_after: str | None = None
        self.account_limit: int | None = None
        self.refused = 0  # 429s answered
        self.accepted = 0  # transcriptions answered with a transcript
        # REST behaviour knobs (see scribe_rest.py).
        self.script: list[tuple[str, str]] | None = None  # [(speaker_id, text), ...] for every transcript
        self.audio_duration: float | None = None  # seconds reported; None: derived from the file size
        self.channels = 2  # channels reported with use_multi_channel
        self.detected_language = "en"  # what realtime sessions report with include_language_detection
        # (pcm) -> [(word, start, end)]: transcribe what was uploaded (tests/fakes/speech.py's hear)
        self.hear: Callable[..., list[tuple[str, float, float]]] | None = None
        self.webhook_delay = 0.05  # seconds before a webhook is sent (latency, when set, wins)
        self.deliver_webhooks = True
        self.pending: dict[str, dict] = {}  # webhook-mode transcripts still "processing"
        self.webhook_deliveries: list[tuple[int, str]] = []  # (status, body) answered by the app
        # Media fetched from a source_url, as Scribe does: (url, HTTP status, bytes, sha256).
        self.fetched: list[tuple[str, int, int, str]] = []
        self.outbox: list[tuple[bytes, dict[str, str]]] = []  # signed webhooks held when webhook_url is None
        self.background: set = set()
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port: int | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()

    # --- lifecycle ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def build_app(self) -> web.Application:
        from tests.fakes import scribe_realtime, scribe_rest

        app = web.Application(client_max_size=6 * 1024**3)
        app["fake"] = self
        scribe_rest.add_routes(app, self)
        scribe_realtime.add_routes(app, self)
        return app

    def start(self) -> FakeScribe:
        self._thread = threading.Thread(target=self._serve, name="fake-scribe", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Scribe server did not start")
        return self

    def _serve(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self._runner = web.AppRunner(self.build_app(), handle_signals=False, access_log=None)
        self.loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()
        pending = asyncio.all_tasks(self.loop)  # e.g. webhooks not yet sent
        for task in pending:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self._runner.cleanup())
        self.loop.close()

    def stop(self) -> None:
        if self.loop and self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread:
            self._thread.join(10)

    def __enter__(self) -> FakeScribe:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- shared helpers -------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def requests_to(self, path_fragment: str, method: str | None = None) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if path_fragment in r.path and (method is None or r.method == method)]

    def sign(self, body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> str:
        """The `ElevenLabs-Signature` header value for a webhook body."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        key = (secret or self.webhook_secret).encode()
        digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return f"t={timestamp},v0={digest}"

    def stt_requests(self) -> list[RecordedRequest]:
        return self.requests_to("/v1/speech-to-text", "POST")

    def issue_token(self, token_type: str) -> str:
        token = f"sutkn_{secrets.token_urlsafe(24)}"
        with self.lock:
            self.tokens[token] = {"type": token_type, "expires_at": time.time() + TOKEN_LIFETIME_SECONDS, "used": False}
        return token

    def consume_token(self, token: str | None, token_type: str) -> bool:
        """Single use and expiring, as the real API."""
        with self.lock:
            entry = self.tokens.get(token or "")
            if not entry or entry["used"] or entry["type"] != token_type or entry["expires_at"] < time.time():
                return False
            entry["used"] = True
            return True
