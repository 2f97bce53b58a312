"""The ElevenLabs Scribe batch engine: the only module that knows the Scribe
REST API (wire protocol: ../shared/scribe-api.md).

Worker model. A Scribe job is almost all waiting: an upload, then minutes of
silence until the transcript comes back. The `scribe` queue is therefore
served by a Celery *thread* pool with hundreds of threads
(`SCRIBE_WORKER_THREADS`); a thread blocked in `recv()` costs no CPU and a
few hundred KiB, so one 2-core host keeps hundreds of requests in flight.
(A prefork pool of 2 processes would run 2 at a time; gevent would need
psycopg and httpx to cooperate with monkey-patching; an asyncio loop would
need a second, async engine interface. Threads keep the engine a plain
synchronous function that the local engine shares.)

What makes hundreds of threads safe:
- Database connections: Postgres allows ~100. The job's database work (claim,
  finish) runs `services.on_db_thread`, a pool of `JOB_DB_CONNECTIONS` threads
  per process that keep their connections, and this engine never touches
  the database while it waits on Scribe (it closes the calling thread's
  connection, if any, first); leases are renewed for all running jobs by one
  `LeaseKeeper` thread in one UPDATE.
- Scribe's concurrency limit is per account: a process-wide semaphore caps
  requests in flight at `SCRIBE_MAX_CONCURRENCY`; jobs above it wait their
  turn inside the worker (nothing is dropped; the job stays claimed, its
  lease kept alive).
- One httpx client per thread (httpcore's shared pool races under hundreds
  of threads), a new connection per request, explicit timeouts per phase.

Retries happen here and only here: 429, 5xx, 408, connection errors and
timeouts *before the request was fully sent*, with capped exponential backoff
and jitter, honouring `Retry-After`. Permanent errors raise
`PermanentEngineError` with a readable reason. If the connection fails after
the whole body was sent, Scribe may already be transcribing (and billing):
the request is never sent again blindly. In webhook mode the job waits for
the webhook (its `webhook_metadata` names the job) and the sweeper polls
`GET /v1/speech-to-text/transcripts/{id}`; in synchronous mode the answer is
unrecoverable (Scribe offers no lookup without the id), so the job fails with
a reason saying so, and the user decides whether to send it again.

Webhook mode is used when a webhook secret is configured
(`SCRIBE_WEBHOOK_SECRET`) and the recording is at least
`SCRIBE_WEBHOOK_MIN_DURATION` seconds long (0: every recording). Without a
secret, every request is synchronous.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import hmac
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
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from transcripts import canonical
from transcripts.engines import EngineJob, EngineResult, PermanentEngineError, Submitted, TranscriptionOptions

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
# provider_request_id of a webhook job whose acknowledgement was lost: only
# the webhook (matched by metadata) can finish it.
UNCONFIRMED = "unconfirmed"


class ScribeTransientError(Exception):
    """Scribe was unreachable or overloaded on every attempt."""


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
    if options.entity_detection:
        values = list(options.entity_detection)
        fields.append(("entity_detection", json.dumps(values[0] if len(values) == 1 else values)))
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


def _concurrency() -> threading.BoundedSemaphore:
    return _state("semaphore", lambda: threading.BoundedSemaphore(settings.SCRIBE_MAX_CONCURRENCY))


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
        semaphore: threading.BoundedSemaphore | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
    ):
        self.api_key, self.base_url, self.model = api_key, base_url.rstrip("/"), model
        self.http = http or _http_client()
        self.semaphore = semaphore or _concurrency()
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
            request = self.http.build_request(
                "POST", self.base_url + STT_PATH, data=data, files=files, headers=self._headers(), timeout=timeout
            )
            return request, stack

        return self._send(build, what="transcribe the recording")

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

    def _send(self, build: Callable[[], tuple[httpx.Request, contextlib.ExitStack]], *, what: str) -> dict:
        for attempt in range(1, self.max_attempts + 1):
            request, stack = build()
            with stack:
                tracked = TrackedStream(request.stream)
                request.stream = tracked
                try:
                    with self.semaphore:
                        response = self.http.send(request)
                        response.read()
                except (httpx.TimeoutException, httpx.TransportError) as error:
                    if tracked.fully_sent and request.method == "POST":
                        raise AmbiguousSubmission(f"{type(error).__name__}: {error}") from error
                    delay, reason = backoff(attempt), f"{type(error).__name__} ({error})"
                else:
                    if response.is_success:
                        return response.json() if response.content else {}
                    if response.status_code not in RETRYABLE_STATUSES:
                        raise permanent_error(response, what)
                    delay = max(backoff(attempt), retry_after(response))
                    reason = f"HTTP {response.status_code} {error_message(response)}".strip()
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


# --- responses -------------------------------------------------------------------


def to_canonical(body: dict) -> dict:
    """The canonical transcript from a single-channel or multichannel response."""
    if "transcripts" in body:
        chunks = []
        for position, chunk in enumerate(body["transcripts"]):
            channel = chunk.get("channel_index")
            channel = position if channel is None else channel
            words = [{**word, "channel_index": word.get("channel_index", channel)} for word in chunk.get("words") or []]
            chunks.append({**chunk, "words": words})
        merged = canonical.merge_channels(chunks)
        merged["language_probability"] = max((c.get("language_probability") or 0 for c in chunks), default=0)
        return merged
    words = [dict(word) for word in body.get("words") or []]
    transcript = canonical.build(
        words,
        language_code=body.get("language_code") or "",
        language_probability=body.get("language_probability") or 0.0,
    )
    transcript["text"] = body.get("text", transcript["text"])
    if body.get("entities"):
        transcript["entities"] = body["entities"]
    return transcript


def result_from(body: dict) -> EngineResult:
    return EngineResult(transcript=to_canonical(body), raw=body)


# --- the engine --------------------------------------------------------------------


def uses_webhook(duration: float) -> bool:
    return bool(settings.SCRIBE_WEBHOOK_SECRETS) and duration >= settings.SCRIBE_WEBHOOK_MIN_SECONDS


def read_timeout_for(duration: float) -> float:
    return min(READ_TIMEOUT_BASE + max(duration, 0.0), READ_TIMEOUT_MAX)


def media_source(job: EngineJob) -> MediaSource:
    name = job.media_name.rsplit("/", 1)[-1] or "audio"
    if job.media_path:
        path = job.media_path
        return MediaSource(filename=name, open=lambda: open(path, "rb"))  # noqa: SIM115
    url = presigned_url(job.media_name)
    if url:
        return MediaSource(filename=name, url=url)
    return MediaSource(filename=name, open=lambda: default_storage.open(job.media_name, "rb"))


def presigned_url(name: str) -> str | None:
    """An HTTPS link Scribe can fetch the media from, when the media lives in
    object storage and SCRIBE_SEND_MEDIA_URLS allows it (no re-upload)."""
    if not settings.SCRIBE_SEND_MEDIA_URLS or not hasattr(default_storage, "bucket_name"):
        return None
    try:
        url = default_storage.url(name, expire=3600)
    except Exception:  # a storage without signing: upload the bytes instead
        log.warning("Could not presign %s; uploading it to Scribe instead", name, exc_info=True)
        return None
    return url if url.startswith("https://") else None


def release_database_connection() -> None:
    """Hundreds of jobs wait on Scribe at once; none may hold a connection."""
    if not connection.in_atomic_block:
        connection.close()


class ScribeEngine:
    name = "scribe"
    needs_local_file = False

    def transcribe(self, job: EngineJob) -> EngineResult | Submitted:
        release_database_connection()
        client = ScribeClient.from_settings()
        webhook = uses_webhook(job.duration)
        metadata = {"transcript_id": job.transcript_id, "site": site_tag()}
        try:
            body = client.speech_to_text(
                media_source(job),
                job.options,
                webhook=webhook,
                webhook_metadata=metadata,
                read_timeout=read_timeout_for(job.duration),
            )
        except AmbiguousSubmission as error:
            if webhook:
                log.warning(
                    "Scribe job %s: answer lost after sending (%s); waiting for the webhook", job.transcript_id, error
                )
                return Submitted(request_id=UNCONFIRMED)
            raise PermanentEngineError(
                "The connection to Scribe broke after the recording was sent, so Scribe may have transcribed "
                "(and billed) it, but the answer was lost. It was not sent again automatically; use Retry to "
                "send it again."
            ) from error
        except ScribeTransientError as error:
            raise PermanentEngineError(str(error)) from error
        if webhook:
            return Submitted(request_id=body.get("transcription_id") or f"request:{body.get('request_id', '')}")
        return result_from(body)

    def reconcile(self, transcript) -> EngineResult | None:
        """For a job whose webhook has not come: fetch the transcript by its
        id; give up once it has waited longer than any job may run."""
        transcription_id = transcript.provider_request_id
        gave_up = (
            transcript.started_at is not None
            and (timezone.now() - transcript.started_at).total_seconds() > settings.TASK_TIME_LIMIT_SECONDS
        )
        if transcription_id and transcription_id != UNCONFIRMED and ":" not in transcription_id:
            try:
                body = ScribeClient.from_settings().get_transcript(transcription_id)
            except ScribeTransientError:
                return None
            if body is not None:
                return result_from(body)
        if gave_up:
            raise PermanentEngineError(
                "Scribe accepted this recording but never delivered a transcript. Use Retry to send it again."
            )
        return None


def site_tag() -> str:
    """Names this installation in `webhook_metadata`: ElevenLabs sends every
    STT webhook of an account to each configured endpoint, and another
    installation's job 12 is not ours."""
    return hmac.new(settings.SECRET_KEY.encode(), b"scribe-webhook-site", hashlib.sha256).hexdigest()[:16]


def webhook_transcript_id(payload: dict) -> int | None:
    """The job a verified webhook payload belongs to (from our metadata)."""
    metadata = (payload.get("data") or {}).get("webhook_metadata")
    if isinstance(metadata, str):
        with contextlib.suppress(ValueError):
            metadata = json.loads(metadata)
    if isinstance(metadata, dict) and hmac.compare_digest(str(metadata.get("site", "")), site_tag()):
        with contextlib.suppress(TypeError, ValueError):
            return int(metadata.get("transcript_id"))
    return None


def webhook_result(payload: dict) -> EngineResult | None:
    data = payload.get("data") or {}
    body = data.get("transcription")
    if payload.get("type") != "speech_to_text_transcription" or not isinstance(body, dict):
        return None
    return EngineResult(transcript=to_canonical(body), raw={**body, "request_id": data.get("request_id")})
