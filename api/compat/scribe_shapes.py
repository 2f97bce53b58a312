"""The Scribe-compatible contract's shapes (../shared/scribe-api.md):
a `POST /v1/speech-to-text` form read into the upload form's fields, and a
transcript written as Scribe's response (single-channel or multichannel,
with `additional_formats`). Pure functions; the views are in scribe.py."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from django.utils.html import escape

from transcripts import exports
from transcripts.document import canonical
from transcripts.document.speakers import speaker_label
from transcripts.exports.subtitles import CueOptions

# Scribe's form fields with another name in the upload form; the others
# (diarize, num_speakers, tag_audio_events, keyterms, no_verbatim, ...)
# are the same, so an option the form learns is taken from here too.
FORM_NAMES = {"language_code": "language", "use_multi_channel": "multichannel"}
# Scribe options the upload form does not offer, applied on top of it (each checked here).
EXTRA_OPTIONS = ("timestamps_granularity", "diarization_threshold", "temperature", "seed")
# Scribe answers ISO 639-3 codes too; the form knows the 639-1 ones.
ISO_639_3 = {
    "eng": "en", "spa": "es", "fra": "fr", "deu": "de", "ita": "it", "por": "pt", "nld": "nl", "pol": "pl",
    "swe": "sv", "dan": "da", "nor": "no", "fin": "fi", "ces": "cs", "rus": "ru", "ukr": "uk", "tur": "tr",
    "ell": "el", "ara": "ar", "heb": "he", "hin": "hi", "jpn": "ja", "kor": "ko", "zho": "zh",
}  # fmt: skip
MAX_ADDITIONAL_FORMATS = 10
MAX_METADATA_BYTES = 16 * 1024
SUPPORTED_FORMATS = ("txt", "srt", "segmented_json", "docx", "pdf", "html")
FORMAT_DEFAULTS = {
    "srt": {"max_characters_per_line": 42, "include_speakers": False, "include_timestamps": True,
            "segment_on_silence_longer_than_s": 0.8, "max_segment_duration_s": 4},
    "txt": {"max_characters_per_line": 100, "include_speakers": True, "include_timestamps": True},
}  # fmt: skip
CONTENT_TYPES = {
    "txt": "text/plain",
    "srt": "application/x-subrip",
    "segmented_json": "application/json",
    "docx": exports.CONTENT_TYPES["docx"],
    "pdf": "application/pdf",
    "html": "text/html",
}
EXTENSIONS = {"segmented_json": "json"}


class Invalid(Exception):
    """A field Scribe would refuse: `param` names it; str(self) says why."""

    def __init__(self, param: str, message: str, code: str = "invalid_parameters"):
        super().__init__(message)
        self.param = param
        self.code = code


@dataclass
class ScribeForm:
    """What a request asked for, sorted out."""

    form_data: dict[str, list[str]]
    extra_options: dict = field(default_factory=dict)
    webhook: bool = False
    webhook_id: str | None = None
    webhook_metadata: dict | None = None
    additional_formats: list[dict] = field(default_factory=list)
    multichannel_style: str = "separate"


def is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1")


def json_field(name: str, raw: str | None):
    """A field the SDKs send as JSON text, or the literal `null` (PY SDK)."""
    if raw is None or raw.strip() in ("", "null"):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise Invalid(name, f"{name} must be JSON.") from None


def read_form(post) -> ScribeForm:
    """`post`: the request's form fields (a QueryDict). Invalid when a value
    cannot be honoured; the upload form checks the rest."""
    data: dict[str, list[str]] = {}
    for name in post:
        if name in ("model_id", "file", "additional_formats", "webhook", "webhook_id", "webhook_metadata"):
            continue
        values = [value for value in post.getlist(name) if value != "null"]
        if values:
            data[FORM_NAMES.get(name, name)] = values
    if "language" in data:
        code = data["language"][0].strip().lower()
        data["language"] = [ISO_639_3.get(code, code)]
    for name in ("entity_detection", "entity_redaction"):
        if name in data:
            data[name] = entity_values(name, data[name])
    return ScribeForm(
        form_data=data,
        extra_options=extra_options(post),
        webhook=is_true(post.get("webhook")),
        webhook_id=(post.get("webhook_id") or "").strip() or None,
        webhook_metadata=metadata(post.get("webhook_metadata")),
        additional_formats=format_requests(post.get("additional_formats")),
        multichannel_style=post.get("multichannel_output_style") or "separate",
    )


def entity_values(name: str, values: list[str]) -> list[str]:
    """Repeated parts (JS SDK) or JSON text such as `"all"` / `["pii"]` (PY SDK)."""
    flat: list[str] = []
    for value in values:
        parsed = json_field(name, value) if value.strip()[:1] in ('"', "[") else value
        flat.extend(parsed if isinstance(parsed, list) else [parsed])
    return [str(item) for item in flat if item]


def extra_options(post) -> dict:
    options: dict = {}
    granularity = post.get("timestamps_granularity")
    if granularity:
        if granularity not in ("none", "word", "character"):
            raise Invalid("timestamps_granularity", "timestamps_granularity must be none, word or character.")
        options["timestamps_granularity"] = granularity
    for name, kind, low, high in (
        ("diarization_threshold", float, 0.1, 0.4),
        ("temperature", float, 0.0, 2.0),
        ("seed", int, 0, 2147483647),
    ):
        raw = post.get(name)
        if raw in (None, "", "null"):
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise Invalid(name, f"{name} must be a number.") from None
        if not low <= value <= high:
            raise Invalid(name, f"{name} must be between {low} and {high}.")
        options[name] = value
    return options


def metadata(raw: str | None) -> dict | None:
    value = json_field("webhook_metadata", raw)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid("webhook_metadata", "webhook_metadata must be a JSON object.")
    if len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise Invalid("webhook_metadata", "webhook_metadata must be at most 16 KB.")
    return value


def format_requests(raw: str | None) -> list[dict]:
    value = json_field("additional_formats", raw)
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    problem = Invalid("additional_formats", "", "invalid_additional_format_options")
    if not isinstance(value, list) or len(value) > MAX_ADDITIONAL_FORMATS:
        problem.args = (f"additional_formats must be a JSON array of at most {MAX_ADDITIONAL_FORMATS} options.",)
        raise problem
    for item in value:
        if not isinstance(item, dict) or item.get("format") not in SUPPORTED_FORMATS:
            problem.args = (f"Each additional format needs a format, one of: {', '.join(SUPPORTED_FORMATS)}.",)
            raise problem
    return value


# --- answers -----------------------------------------------------------------------------

SCRIBE_WORD_KEYS = ("text", "start", "end", "type", "speaker_id", "logprob", "characters", "channel_index")


def scribe_words(words: list[dict]) -> list[dict]:
    return [{key: word[key] for key in SCRIBE_WORD_KEYS if key in word} for word in words]


def chunk(data: dict, words: list[dict]) -> dict:
    body = {
        "language_code": data.get("language_code") or "",
        "language_probability": data.get("language_probability") or 0.0,
        "text": canonical.join_text(words),
        "words": scribe_words(words),
    }
    if data.get("entities"):
        body["entities"] = data["entities"]
    return body


def by_channel(data: dict) -> list[dict]:
    channels: dict[int, list[dict]] = {}
    for word in data.get("words", []):
        channels.setdefault(word.get("channel_index") or 0, []).append(word)
    return [{**chunk(data, words), "channel_index": index} for index, words in sorted(channels.items())]


def response(
    data: dict,
    *,
    transcription_id: str,
    duration: float | None,
    title: str,
    multichannel: bool = False,
    style: str = "separate",
    formats: list[dict] | None = None,
) -> dict:
    """Scribe's answer for a canonical transcript (§2.3, §2.5)."""
    if multichannel and style == "separate" and any("channel_index" in w for w in data.get("words", [])):
        body = {"transcripts": by_channel(data)}
    else:
        body = {**chunk(data, data.get("words", [])), "channel_index": None}
        body["text"] = data.get("text", body["text"])
    body["transcription_id"] = transcription_id
    body["audio_duration_secs"] = duration
    if formats:
        body["additional_formats"] = [additional_format(data, item, title) for item in formats]
    return body


def additional_format(data: dict, request: dict, title: str) -> dict:
    fmt = request["format"]
    options = {**FORMAT_DEFAULTS.get(fmt, {}), **request}
    speakers = bool(options.get("include_speakers", True))
    timestamps = bool(options.get("include_timestamps", True))
    text_options = exports.TextOptions(speakers=speakers, timestamps=timestamps)
    if fmt == "srt":
        content = exports.to_srt(data, srt_options(options, speakers))
    elif fmt == "txt":
        content = exports.to_txt(data, text_options)
    elif fmt == "docx":
        content = exports.to_docx(data, title, text_options)
    elif fmt == "pdf":
        content = exports.to_pdf(data, title, text_options)
    elif fmt == "segmented_json":
        content = json.dumps(segmented(data, speakers)).encode()
    else:
        content = html_document(data, title, speakers).encode()
    binary = fmt in ("docx", "pdf")
    return {
        "requested_format": fmt,
        "file_extension": EXTENSIONS.get(fmt, fmt),
        "content_type": CONTENT_TYPES[fmt],
        "is_base64_encoded": binary,
        "content": base64.b64encode(content).decode() if binary else content.decode(),
    }


def srt_options(options: dict, speakers: bool) -> CueOptions:
    pause = options.get("segment_on_silence_longer_than_s")
    try:
        return CueOptions(
            max_chars=int(options.get("max_characters_per_line") or 42),
            max_duration=float(options.get("max_segment_duration_s") or 7.0),
            pause=float(pause) if pause is not None else 0.0,
            speaker_labels=speakers,
            split_speakers=speakers,
        )
    except (TypeError, ValueError) as error:
        raise Invalid("additional_formats", str(error), "invalid_additional_format_options") from None


def segmented(data: dict, speakers: bool) -> dict:
    segments = []
    for turn in canonical.turns(data):
        segment = {"text": turn.text, "start": turn.start, "end": turn.end, "words": scribe_words(turn.words)}
        if speakers:
            segment["speaker"] = speaker_label(data, turn.speaker_id)
        segments.append(segment)
    return {"segments": segments}


def html_document(data: dict, title: str, speakers: bool) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head><body>"]
    for turn in canonical.turns(data):
        label = f"<b>{escape(speaker_label(data, turn.speaker_id))}:</b> " if speakers else ""
        parts.append(f"<p>{label}{escape(turn.text)}</p>")
    parts.append("</body></html>")
    return "".join(parts)


def response_for(transcript, scribe_request=None) -> dict:
    """A stored transcript as Scribe's answer (GET, webhook payloads)."""
    from transcripts.models import TranscriptResult

    data = TranscriptResult.objects.filter(transcript=transcript).values_list("data", flat=True).first() or {}
    options = transcript.options or {}
    return response(
        data,
        transcription_id=str(transcript.pk),
        duration=transcript.duration,
        title=transcript.title,
        multichannel=bool(options.get("multichannel")),
        style=scribe_request.multichannel_style if scribe_request else "separate",
        formats=scribe_request.additional_formats if scribe_request else None,
    )
