"""HTTP to the Scribe REST API: the one retry loop, the concurrency cap,
per-thread clients and readable errors (see the package docstring)."""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote

import certifi
import httpx
from django.conf import settings
from django.utils import timezone

from transcripts.engines.base import PermanentEngineError, TranscriptionOptions
from transcripts.engines.scribe.slots import LocalSlots, RedisSlots, account_slots

log = logging.getLogger(__name__)

STT_PATH = "/v1/speech-to-text"
TRANSCRIPT_PATH = "/v1/speech-to-text/transcripts/{id}"
RETRYABLE_STATUSES = {408, 429, 500, 502, 503, 504}
MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
RETRY_AFTER_CAP_SECONDS = 300.0
# Per phase: connecting is quick or broken; one write of a chunk may wait on a
# slow uplink; the answer to a synchronous request comes only when the whole
# recording is transcribed (Scribe works faster than real time, but allow
# generously for long files and a busy service).
CONNECT_TIMEOUT = 15.0
WRITE_TIMEOUT = 120.0
POOL_TIMEOUT = 60.0
READ_TIMEOUT_BASE = 600.0
READ_TIMEOUT_MAX = 4 * 3600.0
SHORT_READ_TIMEOUT = 60.0  # acknowledgements, transcript look-ups


class ScribeTransientError(Exception):
    """Scribe was unreachable or overloaded on every attempt."""


class ScribeBusy(Exception):
    """Scribe refused a transcription for now (429, a 5xx, or the connection
    failed before the request was sent): the job waits and tries again later.
    `retry_after` is what Scribe asked for (0 when it did not say)."""

    def __init__(self, reason: str, retry_after: float = 0.0):
        super().__init__(reason)
        self.retry_after = retry_after


class AmbiguousSubmission(Exception):
    """The request was fully sent, then the answer was lost: Scribe may have
    accepted it. Sending it again could transcribe (and bill) it twice."""


# --- the request ---------------------------------------------------------------


@dataclass
class MediaSource:
    """A file to stream (`open()` gives a fresh binary file object per
    attempt) or a URL Scribe fetches itself."""

    filename: str = "audio"
    content_type: str = "application/octet-stream"
    open: Callable[[], IO[bytes]] | None = None
    url: str | None = None


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _entity_list(values: list[str]) -> str:
    """JSON text, as the Python SDK sends it: one type as a string, several as a list."""
    return json.dumps(values[0] if len(values) == 1 else values)


def zero_retention(options: TranscriptionOptions) -> bool:
    """Site-wide (SCRIBE_ZERO_RETENTION) or for this upload."""
    return options.zero_retention or settings.SCRIBE_ZERO_RETENTION


def form_fields(
    model: str, options: TranscriptionOptions, *, webhook: bool = False, webhook_metadata: dict | None = None
) -> list[tuple[str, str]]:
    """The multipart form fields, encoded as Scribe documents: booleans as
    `true`/`false`, one `keyterms` part per term, JSON for objects."""
    fields: list[tuple[str, str]] = [("model_id", model)]
    if options.language:
        fields.append(("language_code", options.language))
    fields.append(("tag_audio_events", _bool(options.tag_audio_events)))
    fields.append(("timestamps_granularity", options.timestamps_granularity or "word"))
    fields.append(("diarize", _bool(options.diarize)))
    if options.diarize and options.num_speakers:
        fields.append(("num_speakers", str(int(options.num_speakers))))
    elif options.diarize and options.diarization_threshold is not None:
        # Scribe accepts a threshold only with diarize and no num_speakers.
        fields.append(("diarization_threshold", repr(float(options.diarization_threshold))))
    fields.extend(("keyterms", term) for term in options.keyterms)
    if options.multichannel:
        fields.append(("use_multi_channel", "true"))
    if options.entity_detection or options.entity_redaction:
        # Scribe redacts only entities it detects: redaction implies their detection.
        detected = list(dict.fromkeys([*options.entity_detection, *options.entity_redaction]))
        fields.append(("entity_detection", _entity_list(detected)))
    if options.entity_redaction:
        fields.append(("entity_redaction", _entity_list(list(options.entity_redaction))))
        if options.entity_redaction_mode:
            fields.append(("entity_redaction_mode", options.entity_redaction_mode))
    if options.no_verbatim:
        fields.append(("no_verbatim", "true"))
    if options.temperature is not None:
        fields.append(("temperature", repr(float(options.temperature))))
    if options.seed is not None:
        fields.append(("seed", str(int(options.seed))))
    if webhook:
        fields.append(("webhook", "true"))
        fields.append(("webhook_metadata", json.dumps(webhook_metadata or {}, separators=(",", ":"))))
    return fields


class TrackedStream(httpx.SyncByteStream):
    """The request body, noting when its last byte was handed to the socket:
    a failure after that is ambiguous (Scribe may have the whole request)."""

    def __init__(self, inner: httpx.SyncByteStream):
        self.inner = inner
        self.fully_sent = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.inner
        self.fully_sent = True

    def close(self) -> None:
        self.inner.close()


# --- the client ------------------------------------------------------------------


_per_thread = threading.local()


def _http_client() -> httpx.Client:
    """One client per thread, opening a new connection per request.

    Per thread: httpcore's shared pool has races under hundreds of threads
    (a connection closed while another thread uses it: EBADF, httpcore
    #1110), and here they would look like a request lost after sending.
    No keep-alive: a POST sent on an idle connection the server has just
    closed fails after the body went out, which is indistinguishable from a
    real ambiguous failure; a new connection per (minutes-long) request
    costs nothing that matters."""
    client = getattr(_per_thread, "client", None)
    if client is None:
        client = httpx.Client(
            verify=_state("tls", tls_context),
            timeout=httpx.Timeout(SHORT_READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        _per_thread.client = client
    return client


def tls_context() -> ssl.SSLContext:
    """Loaded once per process, shared by every thread's client."""
    return ssl.create_default_context(cafile=certifi.where())


_shared: dict[str, Any] = {}
_shared_lock = threading.Lock()


def _state(name: str, factory: Callable[[], Any]) -> Any:
    with _shared_lock:
        if name not in _shared:
            _shared[name] = factory()
        return _shared[name]


class ScribeClient:
    """Speech-to-text requests with retries, concurrency cap and readable errors."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        model: str,
        http: httpx.Client | None = None,
        slots: RedisSlots | LocalSlots | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
    ):
        self.api_key, self.base_url, self.model = api_key, base_url.rstrip("/"), model
        self.http = http or _http_client()
        self.slots = slots or account_slots()
        self.sleep = sleep
        self.max_attempts = max_attempts

    @classmethod
    def from_settings(cls) -> ScribeClient:
        if not settings.ELEVENLABS_API_KEY:
            raise PermanentEngineError("Scribe is not configured on this server (ELEVENLABS_API_KEY is not set).")
        return cls(
            api_key=settings.ELEVENLABS_API_KEY, base_url=settings.ELEVENLABS_BASE_URL, model=settings.SCRIBE_MODEL
        )

    # --- endpoints ---

    def speech_to_text(
        self,
        source: MediaSource,
        options: TranscriptionOptions,
        *,
        webhook: bool = False,
        webhook_metadata: dict | None = None,
        additional_formats: list[dict] | None = None,
        read_timeout: float = READ_TIMEOUT_BASE,
    ) -> dict:
        """POST /v1/speech-to-text: the transcript, or the acknowledgement in webhook mode."""
        fields = form_fields(self.model, options, webhook=webhook, webhook_metadata=webhook_metadata)
        timeout = httpx.Timeout(
            connect=CONNECT_TIMEOUT,
            write=WRITE_TIMEOUT,
            pool=POOL_TIMEOUT,
            read=SHORT_READ_TIMEOUT if webhook else read_timeout,
        )

        def build() -> tuple[httpx.Request, contextlib.ExitStack]:
            stack = contextlib.ExitStack()
            data = _form_dict([(name, value) for name, value in fields if name != "source_url"])
            files: list[tuple[str, Any]] = []
            if source.open is not None:
                handle = stack.enter_context(source.open())
                files.append(("file", (source.filename, handle, source.content_type)))
            else:  # a plain part (no filename): also makes httpx send multipart, which Scribe requires
                files.append(("source_url", (None, source.url or "")))
            if additional_formats:
                files.append(("additional_formats", (None, json.dumps(additional_formats), "application/json")))
            # Zero retention is a query parameter (scribe-api.md 2.1), not a form field.
            params = {"enable_logging": "false"} if zero_retention(options) else None
            request = self.http.build_request(
                "POST",
                self.base_url + STT_PATH,
                params=params,
                data=data,
                files=files,
                headers=self._headers(),
                timeout=timeout,
            )
            return request, stack

        return self._send(build, what="transcribe the recording", transcription=True)

    def get_transcript(self, transcription_id: str) -> dict | None:
        """The stored transcript, or None while it does not exist (yet)."""
        path = TRANSCRIPT_PATH.format(id=quote(transcription_id, safe=""))

        def build() -> tuple[httpx.Request, contextlib.ExitStack]:
            return self.http.build_request("GET", self.base_url + path, headers=self._headers()), contextlib.ExitStack()

        try:
            return self._send(build, what="look up the transcript")
        except ScribeNotFound:
            return None

    def delete_transcript(self, transcription_id: str) -> None:
        def build() -> tuple[httpx.Request, contextlib.ExitStack]:
            url = self.base_url + TRANSCRIPT_PATH.format(id=quote(transcription_id, safe=""))
            request = self.http.build_request("DELETE", url, headers=self._headers())
            return request, contextlib.ExitStack()

        with contextlib.suppress(ScribeNotFound):
            self._send(build, what="delete the transcript")

    # --- the one retry loop ---

    def _headers(self) -> dict[str, str]:
        return {"xi-api-key": self.api_key, "Accept": "application/json"}

    def _send(
        self, build: Callable[[], tuple[httpx.Request, contextlib.ExitStack]], *, what: str, transcription: bool = False
    ) -> dict:
        """A transcription takes one of the account's slots (NoFreeSlot when
        none is free) and is not retried here: when Scribe is busy it raises
        ScribeBusy and the job waits in the queue, holding no thread. Other
        calls (look-ups, deletes) are short and retried in place."""
        for attempt in range(1, self.max_attempts + 1):
            request, stack = build()
            with stack:
                tracked = TrackedStream(request.stream)
                request.stream = tracked
                try:
                    with self.slots.hold() if transcription else contextlib.nullcontext():
                        response = self.http.send(request)
                        response.read()
                except (httpx.TimeoutException, httpx.TransportError) as error:
                    if tracked.fully_sent and request.method == "POST":
                        raise AmbiguousSubmission(f"{type(error).__name__}: {error}") from error
                    delay, reason = backoff(attempt), f"{type(error).__name__} ({error})"
                    if transcription:
                        raise ScribeBusy(f"Scribe could not be reached ({reason})") from error
                else:
                    if response.is_success:
                        return response.json() if response.content else {}
                    if response.status_code not in RETRYABLE_STATUSES:
                        raise permanent_error(response, what)
                    delay = max(backoff(attempt), retry_after(response))
                    reason = f"HTTP {response.status_code} {error_message(response)}".strip()
                    if transcription:
                        raise ScribeBusy(f"Scribe is busy ({reason})", retry_after(response))
            if attempt == self.max_attempts:
                break
            log.warning("Scribe: %s, attempt %d of %d; retrying in %.1f s", reason, attempt, self.max_attempts, delay)
            self.sleep(delay)
        raise ScribeTransientError(
            f"Scribe could not {what}: {reason} on all {self.max_attempts} attempts. Try again later."
        )


class ScribeNotFound(PermanentEngineError):
    pass


def _form_dict(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """httpx writes a list value as repeated parts, in the order given."""
    form: dict[str, list[str]] = {}
    for name, value in fields:
        form.setdefault(name, []).append(value)
    return form


def backoff(attempt: int) -> float:
    """Capped exponential backoff with equal jitter: 0.5–1 s, 1–2 s, 2–4 s, …"""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def retry_after(response: httpx.Response) -> float:
    """Seconds the server asked us to wait (`Retry-After` as seconds or a
    date, or `retry-after-ms`), capped; 0 when it did not say."""
    headers = response.headers
    with contextlib.suppress(ValueError):
        if "retry-after-ms" in headers:
            return min(float(headers["retry-after-ms"]) / 1000, RETRY_AFTER_CAP_SECONDS)
    value = headers.get("retry-after", "").strip()
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        seconds = (parsed - timezone.now()).total_seconds() if parsed and parsed.tzinfo else 0.0
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_SECONDS)


def error_message(response: httpx.Response) -> str:
    """What Scribe said, from the `{"detail": ...}` envelope (object or list)."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text[:300].strip()
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', [])[1:]) or 'request'}: {item.get('msg', '')}"
            for item in detail
            if isinstance(item, dict)
        )
    if isinstance(detail, dict):
        message = detail.get("message") or ""
        code = detail.get("code") or detail.get("status") or ""
        return f"{message} ({code})" if code and message else message or code
    return str(detail or "")


def permanent_error(response: httpx.Response, what: str) -> PermanentEngineError:
    status, said = response.status_code, error_message(response)
    if status == 401:
        return PermanentEngineError(
            "ElevenLabs rejected the API key (HTTP 401): check ELEVENLABS_API_KEY. "
            f"Scribe said: {said or 'unauthorized'}"
        )
    if status == 403:
        return PermanentEngineError(f"ElevenLabs refused to {what} (HTTP 403): {said or 'forbidden'}")
    if status == 404:
        return ScribeNotFound(f"Scribe could not find what was asked (HTTP 404): {said or 'not found'}")
    return PermanentEngineError(f"Scribe rejected the request (HTTP {status}): {said or response.reason_phrase}")
