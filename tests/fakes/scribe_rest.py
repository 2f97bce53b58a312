"""REST side of the fake Scribe server (see tests/fakes/scribe.py).

Implements, as documented in ../shared/scribe-api.md:
- `POST /v1/speech-to-text` (sync and webhook mode, single and multichannel),
  validating like the real API: `xi-api-key` or a `batch_scribe` token, the
  422 list envelope for missing/ill-typed fields, the 400 object envelope for
  bad values (keyterms, additional_formats, unknown model).
- `GET` / `DELETE /v1/speech-to-text/transcripts/{id}`.
- `POST /v1/single-use-token/{type}`.

Faults are taken from `fake.faults` under the endpoint names "stt",
"transcripts" and "token":
- `Fault("status", status=429, headers={"Retry-After": "2"})`: answer that status.
- `Fault("slow", delay=3)`: wait, then answer normally.
- `Fault("drop_after_body")`: read the whole request, do the work (the
  transcript exists and is billed, a webhook is sent), then cut the
  connection without answering, as a proxy or network failure would.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import math
import secrets
import time
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from tests.fakes.scribe import Fault, RecordedRequest

MODELS = {"scribe_v1", "scribe_v1_experimental", "scribe_v2", "scribe_v2_medical"}
TOKEN_TYPES = {"realtime_scribe", "batch_scribe", "tts_websocket"}
GRANULARITIES = {"none", "word", "character"}
FILE_FORMATS = {"pcm_s16le_16", "other"}
ADDITIONAL_FORMATS = {"srt", "txt", "segmented_json", "docx", "pdf", "html"}
BOOLEAN_FIELDS = (
    "tag_audio_events",
    "diarize",
    "webhook",
    "use_multi_channel",
    "no_verbatim",
    "detect_speaker_roles",
    "use_speaker_library",
)
# FastAPI's bool parsing: what the real server would accept for a bool field.
_TRUE = {"true", "1", "yes", "on", "t", "y"}
_FALSE = {"false", "0", "no", "off", "f", "n"}
KEYTERM_FORBIDDEN = set("<>{}[]\\")
DEFAULT_SCRIPT = [
    ("speaker_0", "Hello from the fake Scribe server."),
    ("speaker_1", "Nice to meet you, this is the second speaker."),
]


def add_routes(app: web.Application, fake) -> None:
    """Registers POST /v1/speech-to-text, GET/DELETE transcripts, single-use tokens."""
    handlers = Handlers(fake)
    app.router.add_post("/v1/speech-to-text", handlers.speech_to_text)
    app.router.add_get("/v1/speech-to-text/transcripts/{transcription_id}", handlers.get_transcript)
    app.router.add_delete("/v1/speech-to-text/transcripts/{transcription_id}", handlers.delete_transcript)
    app.router.add_post("/v1/single-use-token/{token_type}", handlers.single_use_token)


# --- error envelopes ------------------------------------------------------------


class ApiError(Exception):
    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status, self.detail, self.headers = status, detail, headers or {}

    def response(self) -> web.Response:
        return web.json_response({"detail": self.detail}, status=self.status, headers=self.headers)


def bad_request(code: str, message: str, param: str | None = None) -> ApiError:
    return ApiError(
        400,
        {
            "type": "validation_error",
            "code": code,
            "message": message,
            "status": code,
            "request_id": secrets.token_hex(16),
            "param": param,
        },
    )


def unprocessable(*errors: tuple[str, str, str, Any]) -> ApiError:
    """FastAPI-style list: (type, field, msg, input)."""
    return ApiError(
        422, [{"type": kind, "loc": ["body", name], "msg": msg, "input": value} for kind, name, msg, value in errors]
    )


def unauthorized() -> ApiError:
    return ApiError(
        401,
        {
            "status": "invalid_api_key",
            "code": "unauthorized",
            "type": "authentication_error",
            "message": "Invalid API key",
        },
    )


def not_found() -> ApiError:
    return ApiError(404, {"status": "not_found_error", "message": "Transcript not found."})


# --- the form -------------------------------------------------------------------


async def fetch_source(fake, url: str) -> dict:
    """Fetch the media at a source_url, as Scribe does before transcribing."""
    import aiohttp

    digest, size = hashlib.sha256(), 0
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            status = response.status
            async for chunk in response.content.iter_chunked(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
    except aiohttp.ClientError:
        status = 0
    fake.fetched.append((url, status, size, digest.hexdigest()))
    if status != 200:
        raise bad_request(
            "invalid_source_url", f"The media at source_url could not be fetched ({status}).", "source_url"
        )
    return {"size": size}


async def read_form(request: web.Request, recorded: RecordedRequest) -> dict[str, list[Any]]:
    """Every part in order, recorded; file parts are read in chunks and kept
    only as their size and digest (the app may send gigabytes)."""
    form: dict[str, list[Any]] = {}
    if not (request.content_type or "").startswith("multipart/"):
        recorded.body = await request.read()
        return form
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        name = part.name or ""
        content_type = part.headers.get("Content-Type")
        if part.filename is not None:
            digest, size, head = hashlib.sha256(), 0, b""
            kept = bytearray() if request.app["fake"].hear is not None else None
            while chunk := await part.read_chunk(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
                if len(head) < 64:
                    head += chunk[: 64 - len(head)]
                if kept is not None:
                    kept += chunk
            value: Any = {
                "filename": part.filename,
                "content_type": content_type,
                "size": size,
                "sha256": digest.hexdigest(),
                "head": head,
            }
            if kept is not None:
                value["data"] = bytes(kept)
        else:
            value = (await part.read(decode=False)).decode("utf-8")
        recorded.parts.append((name, value))
        recorded.part_content_types.append((name, content_type))
        form.setdefault(name, []).append(value)
    return form


def last(form: dict, name: str) -> Any:
    values = form.get(name) or [None]
    return values[-1]


def parse_bool(form: dict, name: str, default: bool, errors: list) -> bool:
    value = last(form, name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    errors.append(("bool_parsing", name, "Input should be a valid boolean, unable to interpret input", value))
    return default


def parse_number(form: dict, name: str, kind: type, low: float, high: float, errors: list):
    value = last(form, name)
    if value is None or value == "":
        return None
    try:
        number = kind(value)
    except ValueError:
        errors.append((f"{kind.__name__}_parsing", name, f"Input should be a valid {kind.__name__}", value))
        return None
    if not low <= number <= high:
        errors.append(("value_error", name, f"Input should be between {low} and {high}", value))
        return None
    return number


def parse_json_field(form: dict, name: str) -> Any:
    """`null` (the Python SDK always sends it) counts as absent."""
    values = [v for v in form.get(name, []) if v not in ("null", "")]
    if not values:
        return None
    if len(values) > 1:
        return values  # repeated parts (the JS SDK's encoding)
    try:
        return json.loads(values[0])
    except ValueError:
        return values[0]


def validate(form: dict, query: dict) -> dict:
    """The request as the server understands it, or ApiError."""
    errors: list = []
    model_id = last(form, "model_id")
    if model_id is None:
        errors.append(("missing", "model_id", "Field required", None))
    options: dict[str, Any] = {
        name: parse_bool(form, name, name == "tag_audio_events", errors) for name in BOOLEAN_FIELDS
    }
    options["num_speakers"] = parse_number(form, "num_speakers", int, 1, 32, errors)
    options["diarization_threshold"] = parse_number(form, "diarization_threshold", float, 0.1, 0.4, errors)
    options["temperature"] = parse_number(form, "temperature", float, 0.0, 2.0, errors)
    options["seed"] = parse_number(form, "seed", int, 0, 2147483647, errors)
    granularity = last(form, "timestamps_granularity") or "word"
    if granularity not in GRANULARITIES:
        errors.append(("enum", "timestamps_granularity", "Input should be 'none', 'word' or 'character'", granularity))
    file_format = last(form, "file_format") or "other"
    if file_format not in FILE_FORMATS:
        errors.append(("enum", "file_format", "Input should be 'pcm_s16le_16' or 'other'", file_format))
    if errors:
        raise unprocessable(*errors)
    if model_id not in MODELS:
        raise bad_request("unsupported_model", f"Model '{model_id}' is not supported for speech to text.", "model_id")
    sources = [name for name in ("file", "cloud_storage_url", "source_url") if form.get(name)]
    if len(sources) != 1:
        raise bad_request(
            "invalid_parameters", "Exactly one of file, cloud_storage_url or source_url must be provided.", "file"
        )
    if options["diarization_threshold"] is not None and (not options["diarize"] or options["num_speakers"]):
        raise bad_request(
            "invalid_parameters",
            "diarization_threshold can only be set when diarize is true and num_speakers is not set.",
            "diarization_threshold",
        )
    keyterms = form.get("keyterms", [])
    check_keyterms(keyterms)
    formats = check_additional_formats(form.get("additional_formats", []))
    detection = entity_types(parse_json_field(form, "entity_detection"))
    redaction = entity_types(parse_json_field(form, "entity_redaction"))
    check_redaction(detection, redaction, last(form, "entity_redaction_mode"))
    metadata = parse_json_field(form, "webhook_metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise bad_request("invalid_parameters", "webhook_metadata must be a JSON object.", "webhook_metadata")
    return {
        **options,
        "model_id": model_id,
        "timestamps_granularity": granularity,
        "source": sources[0],
        "language_code": last(form, "language_code"),
        "keyterms": keyterms,
        "additional_formats": formats,
        "webhook_metadata": metadata,
        "entity_detection": parse_json_field(form, "entity_detection"),
        "entity_redaction": redaction,
        "entity_redaction_mode": last(form, "entity_redaction_mode") or "enumerated_entity_type",
        "enable_logging": parse_query_bool(query, "enable_logging", True),
    }


REDACTION_MODES = {"redacted", "entity_type", "enumerated_entity_type"}


def entity_types(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def check_redaction(detection: list[str], redaction: list[str], mode: str | None) -> None:
    """entity_redaction must be a subset of entity_detection; the mode one of three."""
    if redaction and not set(redaction) <= set(detection) and "all" not in detection:
        raise bad_request(
            "invalid_parameters", "entity_redaction must be a subset of entity_detection.", "entity_redaction"
        )
    if mode is not None and mode not in REDACTION_MODES:
        raise bad_request("invalid_parameters", f"Invalid entity_redaction_mode: {mode!r}.", "entity_redaction_mode")


def parse_query_bool(query: dict, name: str, default: bool) -> bool:
    value = query.get(name)
    if value is None:
        return default
    if value not in ("true", "false"):
        raise bad_request("invalid_parameters", f"{name} must be true or false.", name)
    return value == "true"


def check_keyterms(keyterms: list[str]) -> None:
    if len(keyterms) > 1000:
        raise bad_request("invalid_parameters", "At most 1000 keyterms are allowed.", "keyterms")
    for term in keyterms:
        if len(term) >= 50 or len(term.split()) > 5 or KEYTERM_FORBIDDEN & set(term):
            raise bad_request(
                "invalid_keyword_length",
                f"Keyterm '{term[:60]}' must be under 50 characters and at most 5 words, without <>{{}}[]\\.",
                "keyterms",
            )


def check_additional_formats(parts: list[str]) -> list[dict]:
    if not parts:
        return []
    if len(parts) != 1:
        raise bad_request(
            "invalid_additional_format_options", "additional_formats must be one JSON array.", "additional_formats"
        )
    try:
        formats = json.loads(parts[0])
    except ValueError:
        formats = None
    if (
        not isinstance(formats, list)
        or len(formats) > 10
        or not all(isinstance(item, dict) and item.get("format") in ADDITIONAL_FORMATS for item in formats)
    ):
        raise bad_request(
            "invalid_additional_format_options", "Invalid additional format options.", "additional_formats"
        )
    return formats


# --- transcripts ------------------------------------------------------------------


def chunk_for(script: list[tuple[str, str]], options: dict, duration: float, channel: int | None) -> dict:
    """A plausible Scribe chunk: words and spacing, times spread over the audio."""
    tokens = [(speaker, word) for speaker, text in script for word in text.split()]
    step = max(duration, 1.0) / max(len(tokens), 1)
    words: list[dict] = []
    for index, (speaker, text) in enumerate(tokens):
        start = round(index * step, 3)
        item: dict[str, Any] = {
            "text": text,
            "start": start,
            "end": round(start + step * 0.8, 3),
            "type": "word",
            "speaker_id": speaker if options["diarize"] else None,
            "logprob": round(-0.05 * (index % 5), 3),
        }
        if channel is not None:
            item["channel_index"] = channel
            item["speaker_id"] = f"speaker_{channel}"
        if options["timestamps_granularity"] == "character":
            item["characters"] = [{"text": c, "start": start, "end": item["end"]} for c in text]
        if words:
            space = {
                "text": " ",
                "start": words[-1]["end"],
                "end": start,
                "type": "spacing",
                "speaker_id": words[-1]["speaker_id"],
                "logprob": 0.0,
            }
            if channel is not None:
                space["channel_index"] = channel
            words.append(space)
        words.append(item)
    if options["timestamps_granularity"] == "none":
        for word in words:
            word["start"] = word["end"] = None
    return {
        "language_code": options["language_code"] or "eng",
        "language_probability": 0.98,
        "text": "".join(word["text"] for word in words),
        "words": words,
        "channel_index": channel,
        "additional_formats": [render_format(item, words) for item in options["additional_formats"]] or None,
        # With redaction Scribe returns no entities (scribe-api.md 2.2).
        "entities": [] if options["entity_detection"] and not options.get("entity_redaction") else None,
        "audio_duration_secs": round(duration, 2),
    }


def render_format(request: dict, words: list[dict]) -> dict:
    text = "".join(word["text"] for word in words)
    kind = request["format"]
    binary = kind in ("docx", "pdf")
    return {
        "requested_format": kind,
        "file_extension": kind,
        "content_type": "text/plain",
        "is_base64_encoded": binary,
        "content": text,
    }


def heard_chunk(fake, options: dict, data: bytes) -> dict:
    """With `fake.hear`: the words really in the uploaded 16 kHz PCM16 WAV."""
    pcm = data[44:] if data[:4] == b"RIFF" else data
    words: list[dict] = []
    for text, start, end in fake.hear(pcm):
        if words:
            words.append({"text": " ", "start": words[-1]["end"], "end": start, "type": "spacing", "logprob": 0.0})
        words.append({"text": text, "start": start, "end": end, "type": "word", "speaker_id": None, "logprob": -0.05})
    return {
        "language_code": options["language_code"] or "eng",
        "language_probability": 0.98,
        "text": "".join(word["text"] for word in words),
        "words": words,
        "audio_duration_secs": round(len(pcm) / 32000, 2),
    }


def build_response(fake, options: dict, file_size: int, data: bytes | None = None) -> dict:
    transcription_id = secrets.token_urlsafe(15)[:20]
    if data is not None and fake.hear is not None:
        return {**heard_chunk(fake, options, data), "transcription_id": transcription_id}
    duration = fake.audio_duration or max(1.0, math.sqrt(max(file_size, 1)) / 50)
    script = fake.script or DEFAULT_SCRIPT
    if options["use_multi_channel"]:
        channels = [chunk_for([script[i % len(script)]], options, duration, i) for i in range(fake.channels)]
        for chunk in channels:
            chunk["transcription_id"] = transcription_id
        return {"transcripts": channels, "transcription_id": transcription_id, "audio_duration_secs": duration}
    body = chunk_for(script, options, duration, None)
    body["transcription_id"] = transcription_id
    return body


# --- handlers -------------------------------------------------------------------


class Handlers:
    def __init__(self, fake):
        self.fake = fake

    def authorised(self, request: web.Request, token_type: str | None = None) -> bool:
        if hmac.compare_digest(request.headers.get("xi-api-key", ""), self.fake.api_key):
            return True
        token = request.query.get("token")
        return bool(token_type and token and self.fake.consume_token(token, token_type))

    def recorded(self, request: web.Request) -> RecordedRequest:
        return RecordedRequest(
            method=request.method, path=request.path, query=list(request.query.items()), headers=dict(request.headers)
        )

    async def apply_fault(self, endpoint: str) -> Fault | None:
        fault = self.fake.faults.pop(endpoint)
        if fault is None:
            return None
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            return None
        if fault.kind == "status":
            body = fault.body if fault.body is not None else {"detail": default_fault_detail(fault.status)}
            raise ApiError(fault.status, body.get("detail"), fault.headers)
        return fault

    async def speech_to_text(self, request: web.Request) -> web.StreamResponse:
        fake = self.fake
        with fake.lock:
            fake.in_flight += 1
            fake.peak_in_flight = max(fake.peak_in_flight, fake.in_flight)
        recorded = self.recorded(request)
        try:
            form = await read_form(request, recorded)
            fake.record(recorded)
            return await self._speech_to_text(request, form, recorded)
        except ApiError as error:
            return error.response()
        finally:
            with fake.lock:
                fake.in_flight -= 1

    async def _speech_to_text(self, request: web.Request, form: dict, recorded: RecordedRequest):
        fake = self.fake
        if not self.authorised(request, "batch_scribe"):
            raise unauthorized()
        self.refuse_when_busy()
        fault = await self.apply_fault("stt")
        options = validate(form, dict(request.query))
        file_info = (form.get("file") or [{}])[0]
        if options["source"] == "source_url":
            file_info = await fetch_source(fake, form["source_url"][0])
        info = file_info if isinstance(file_info, dict) else {}
        body = build_response(fake, options, info.get("size", 0), info.get("data"))
        request_id = secrets.token_hex(16)
        if options["enable_logging"]:
            fake.transcripts[body["transcription_id"]] = body
        recorded.response = {"request_id": request_id, "transcription_id": body["transcription_id"]}
        if options["webhook"]:
            fake.pending[body["transcription_id"]] = body
            fake.transcripts.pop(body["transcription_id"], None)
            task = asyncio.ensure_future(self.deliver_later(request_id, body, options["webhook_metadata"]))
            fake.background.add(task)
            task.add_done_callback(fake.background.discard)
            if fault and fault.kind == "drop_after_body":
                return drop(request)
            return web.json_response(
                {
                    "message": "Request accepted. Transcription result will be sent to the webhook.",
                    "request_id": request_id,
                    "transcription_id": body["transcription_id"],
                },
                status=200,
            )
        if fake.latency:
            await asyncio.sleep(fake.latency)
        if fault and fault.kind == "drop_after_body":
            return drop(request)
        with fake.lock:
            fake.accepted += 1
        return web.json_response(body, headers={"request-id": request_id})

    def refuse_when_busy(self) -> None:
        """429 as Scribe answers it: during a storm (`rate_limit_exceeded`), or
        over the account's concurrency limit (`concurrent_limit_exceeded`)."""
        fake = self.fake
        with fake.lock:
            storm = time.monotonic() < fake.storm_until
            over = fake.account_limit is not None and fake.in_flight > fake.account_limit
            if storm or over:
                fake.refused += 1
        if storm:
            headers = {"Retry-After": fake.storm_retry_after} if fake.storm_retry_after else {}
            raise ApiError(429, {"status": "rate_limit_exceeded", "message": "Too many requests."}, headers)
        if over:
            raise ApiError(429, {"status": "concurrent_limit_exceeded", "message": "Too many concurrent requests."}, {})

    async def deliver_later(self, request_id: str, body: dict, metadata: Any) -> None:
        fake = self.fake
        await asyncio.sleep(fake.latency or fake.webhook_delay)
        fake.pending.pop(body["transcription_id"], None)
        fake.transcripts[body["transcription_id"]] = body
        if not fake.deliver_webhooks:
            return
        payload = {
            "type": "speech_to_text_transcription",
            "event_timestamp": int(time.time()),
            "data": {"request_id": request_id, "webhook_metadata": metadata, "transcription": body},
        }
        raw = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "ElevenLabs-Signature": fake.sign(raw)}
        if not fake.webhook_url:  # a test delivers it itself
            fake.outbox.append((raw, headers))
            return
        with contextlib.suppress(Exception):
            async with ClientSession(timeout=ClientTimeout(total=30)) as session:
                async with session.post(fake.webhook_url, data=raw, headers=headers) as response:
                    fake.webhook_deliveries.append((response.status, await response.text()))

    async def get_transcript(self, request: web.Request) -> web.Response:
        recorded = self.recorded(request)
        self.fake.record(recorded)
        try:
            if not self.authorised(request):
                raise unauthorized()
            await self.apply_fault("transcripts")
            body = self.fake.transcripts.get(request.match_info["transcription_id"])
            if body is None:
                raise not_found()
            return web.json_response(body)
        except ApiError as error:
            return error.response()

    async def delete_transcript(self, request: web.Request) -> web.Response:
        self.fake.record(self.recorded(request))
        try:
            if not self.authorised(request):
                raise unauthorized()
            await self.apply_fault("transcripts")
            if self.fake.transcripts.pop(request.match_info["transcription_id"], None) is None:
                raise not_found()
            return web.json_response({})
        except ApiError as error:
            return error.response()

    async def single_use_token(self, request: web.Request) -> web.Response:
        self.fake.record(self.recorded(request))
        try:
            if not self.authorised(request):
                raise unauthorized()
            await self.apply_fault("token")
            token_type = request.match_info["token_type"]
            if token_type not in TOKEN_TYPES:
                raise ApiError(
                    422,
                    [
                        {
                            "type": "enum",
                            "loc": ["path", "token_type"],
                            "msg": "Input should be 'realtime_scribe', 'batch_scribe' or 'tts_websocket'",
                            "input": token_type,
                        }
                    ],
                )
            return web.json_response({"token": self.fake.issue_token(token_type)})
        except ApiError as error:
            return error.response()


def default_fault_detail(status: int) -> dict:
    if status == 429:
        return {
            "type": "rate_limit_error",
            "code": "concurrent_limit_exceeded",
            "status": "concurrent_limit_exceeded",
            "message": "Too many concurrent requests for this account.",
        }
    if status >= 500:
        return {
            "type": "internal_error",
            "code": "internal_error",
            "status": "internal_error",
            "message": "Something went wrong on our side.",
        }
    return {"status": "error", "message": f"HTTP {status}"}


def drop(request: web.Request) -> web.StreamResponse:
    """Close the socket without an answer (the work was done, the reply is lost)."""
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError()
