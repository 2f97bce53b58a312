"""OpenAI's `POST /v1/audio/transcriptions` on Verbatim, the de-facto
standard of self-hosted speech servers: `Authorization: Bearer` takes a
Verbatim API token; `file`, `model` (any name: this server's engine runs),
`language`, `prompt` (context for the engine: the local engine gives it to
Whisper as its initial prompt, as OpenAI's Whisper does; Scribe has no such
field, so on Scribe send key terms as `keyterms` instead), `response_format`
(json, text, srt, vtt, verbose_json),
`timestamp_granularities[]` (segment, word) and `temperature`. Fields of
the upload form (`keyterms`, `diarize`...) are honoured too. Each request
is a transcript in the caller's library; the answer waits for it."""

from __future__ import annotations

import zlib

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import get_language_info

from api import uploads
from api.compat import scribe
from api.compat.contract import ContractError, contract_view
from api.compat.scribe_shapes import ISO_639_3
from transcripts import exports
from transcripts.exports.subtitles import CueOptions
from transcripts.models import Status, Transcript, TranscriptResult

FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
GRANULARITIES = ("segment", "word")
# Whisper reads at most 224 tokens of prompt (the rest is cut from its start);
# this is about that many characters of English, with room.
MAX_PROMPT_CHARS = 1000
# A segment ends at a sentence end, a pause this long, or this length.
SEGMENT_PAUSE_SECONDS, SEGMENT_MAX_SECONDS = 1.0, 30.0


class OpenAIError(ContractError):
    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None, headers=None):
        super().__init__(status, code, message, param=param, headers=headers)


def error_response(error: ContractError) -> JsonResponse:
    kind = "invalid_request_error" if error.status < 500 else "server_error"
    body = {"error": {"message": str(error), "type": kind, "param": error.param, "code": error.code}}
    response = JsonResponse(body, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


openai_endpoint = contract_view(error_response)


def required(request: HttpRequest, name: str) -> str:
    value = (request.POST.get(name) or "").strip()
    if not value:
        raise OpenAIError(400, f"you must provide a {name} parameter", code="missing_required_parameter", param=name)
    return value


def choice(request: HttpRequest, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.POST.get(name) or default
    if value not in allowed:
        raise OpenAIError(400, f"{name} must be one of: {', '.join(allowed)}.", code="invalid_value", param=name)
    return value


def temperature(request: HttpRequest) -> dict:
    raw = request.POST.get("temperature")
    if raw in (None, ""):
        return {}
    try:
        value = float(raw)
    except ValueError:
        raise OpenAIError(400, "temperature must be a number.", code="invalid_value", param="temperature") from None
    if not 0 <= value <= 1:
        raise OpenAIError(400, "temperature must be between 0 and 1.", code="invalid_value", param="temperature")
    return {"temperature": value}


def prompt(request: HttpRequest) -> dict:
    text = (request.POST.get("prompt") or "").strip()
    if len(text) > MAX_PROMPT_CHARS:
        raise OpenAIError(
            400, f"prompt must be at most {MAX_PROMPT_CHARS} characters.", code="invalid_value", param="prompt"
        )
    return {"prompt": text} if text else {}


@openai_endpoint
def transcriptions(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        raise OpenAIError(405, "Use POST.", code="method_not_allowed")
    user = scribe.authenticate(request)
    scribe.throttled(request, user, "create")
    required(request, "model")
    fmt = choice(request, "response_format", FORMATS, "json")
    granularities = request.POST.getlist("timestamp_granularities[]") or request.POST.getlist("timestamp_granularities")
    for granularity in granularities:
        if granularity not in GRANULARITIES:
            raise OpenAIError(400, "timestamp_granularities must be segment or word.", param="timestamp_granularities")
    if (request.POST.get("stream") or "").lower() == "true":
        raise OpenAIError(400, "Streaming transcriptions are not supported; use the realtime socket.", param="stream")
    data = {name: request.POST.getlist(name) for name in request.POST if name not in ("model", "prompt")}
    if "file" not in request.FILES and not getattr(request, "upload_too_large", False):
        raise OpenAIError(400, "you must provide a file parameter", code="missing_required_parameter", param="file")
    overrides = {**temperature(request), **prompt(request)}
    transcript = uploads.create(request, user, data, overrides=overrides).transcript
    finished = scribe.wait_for_end(transcript.pk)
    if finished.status != Status.DONE:
        reason = finished.error or "The transcription did not finish."
        raise OpenAIError(400 if finished.status != Status.QUEUED else 504, reason, code="transcription_failed")
    return answer(finished, fmt, granularities or ["segment"])


def answer(transcript: Transcript, fmt: str, granularities: list[str]) -> HttpResponse:
    data = TranscriptResult.objects.filter(transcript=transcript).values_list("data", flat=True).get()
    if fmt == "json":
        return JsonResponse({"text": data["text"]})
    if fmt == "text":
        return HttpResponse(data["text"] + "\n", content_type="text/plain; charset=utf-8")
    if fmt in ("srt", "vtt"):
        cues = CueOptions(speaker_labels=False, split_speakers=False)
        content = exports.to_srt(data, cues) if fmt == "srt" else exports.to_vtt(data, cues)
        return HttpResponse(content, content_type=exports.CONTENT_TYPES[fmt])
    return JsonResponse(verbose(transcript, data, granularities))


def verbose(transcript: Transcript, data: dict, granularities: list[str]) -> dict:
    tokens = [word for word in data.get("words", []) if word["type"] != "spacing"]
    body = {
        "task": "transcribe",
        "language": language_name(data.get("language_code") or ""),
        "duration": transcript.duration or 0.0,
        "text": data["text"],
    }
    if "segment" in granularities:
        temperature = (transcript.options or {}).get("temperature") or 0.0
        body["segments"] = [segment(index, words, temperature) for index, words in enumerate(segmented(tokens))]
    if "word" in granularities:
        body["words"] = [{"word": word["text"], "start": word["start"], "end": word["end"]} for word in tokens]
    return body


def language_name(code: str) -> str:
    """OpenAI answers the language's English name in lower case ("english")."""
    short = ISO_639_3.get(code.lower(), code.lower())
    try:
        return get_language_info(short)["name"].lower()
    except KeyError:
        return short


def segmented(tokens: list[dict]) -> list[list[dict]]:
    segments: list[list[dict]] = []
    for word in tokens:
        current = segments[-1] if segments else None
        if (
            current is None
            or current[-1]["text"].rstrip().endswith((".", "?", "!"))
            or (word["start"] or 0) - (current[-1]["end"] or 0) > SEGMENT_PAUSE_SECONDS
            or (word["end"] or 0) - (current[0]["start"] or 0) > SEGMENT_MAX_SECONDS
            or word.get("speaker_id") != current[-1].get("speaker_id")
        ):
            segments.append([word])
        else:
            current.append(word)
    return segments


def segment(index: int, words: list[dict], temperature: float) -> dict:
    text = " ".join(word["text"] for word in words)
    encoded = text.encode()
    return {
        "id": index,
        "seek": 0,
        "start": words[0]["start"] or 0.0,
        "end": words[-1]["end"] or 0.0,
        "text": text,
        "tokens": [],
        "temperature": temperature,
        "avg_logprob": sum(word.get("logprob") or 0.0 for word in words) / len(words),
        "compression_ratio": len(encoded) / max(len(zlib.compress(encoded)), 1),
        "no_speech_prob": 0.0,
    }
