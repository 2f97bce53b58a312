"""Downloads in every format, with the options of the page's export form
(the owner's and, when the link allows it, the share page's)."""

from __future__ import annotations

from urllib.parse import quote

from django.http import Http404, HttpRequest, HttpResponse

from transcripts import exports, results
from transcripts.exports.subtitles import CueOptions
from transcripts.views.common import finished_transcript


def export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    transcript = finished_transcript(request, pk)
    return export_response(transcript.pk, fmt, transcript.title, request.GET)


def export_response(transcript_id: int, fmt: str, title: str, params) -> HttpResponse:
    if fmt not in exports.FORMATS:
        raise Http404("Unknown format.")
    try:
        text_options, cue_options = export_options(params)
    except ValueError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    result = export_file(transcript_id, fmt, title, text_options, cue_options)
    if result is None:
        raise Http404("This transcript is not finished.")
    return download(result, title)


def export_options(params) -> tuple[exports.TextOptions, CueOptions]:
    """The export form's options from query parameters; ValueError (with a
    message for people) for a value out of range."""
    text_options = exports.TextOptions(speakers=_speakers(params), timestamps=_flag(params, "timestamps"))
    return text_options, _cue_options(params, speaker_labels=text_options.speakers)


# speakers=: "auto" (the default: labels when there are speakers to tell
# apart), "always" (also a lone speaker), "never"; "1" is the old checkbox.
SPEAKER_CHOICES = {"auto": None, "1": None, "always": True, "never": False}


def _speakers(params) -> bool | None:
    if "options" not in params:
        return None
    value = params.get("speakers", "never")
    if value not in SPEAKER_CHOICES:
        raise ValueError("Speaker names must be auto, always or never.")
    return SPEAKER_CHOICES[value]


def export_file(
    transcript_id: int, fmt: str, title: str, text_options: exports.TextOptions, cue_options: CueOptions
) -> exports.Export | None:
    """The transcript in `fmt` (None when it has no result). The page, the
    share page and the API all export through here."""
    if fmt == "json":
        content = results.json_bytes(transcript_id)
        return None if content is None else exports.Export(content, exports.CONTENT_TYPES["json"], "json")
    data = results.export_data(transcript_id)
    if data is None:
        return None
    return exports.export(data, fmt, title=title, text_options=text_options, cue_options=cue_options)


def _cue_options(params, *, speaker_labels: bool | None) -> CueOptions:
    defaults = CueOptions()
    return CueOptions(
        max_chars=_number(params, "max_chars", defaults.max_chars),
        max_lines=_number(params, "max_lines", defaults.max_lines),
        max_duration=_number(params, "max_duration", defaults.max_duration, float),
        min_duration=_number(params, "min_duration", defaults.min_duration, float),
        pause=_number(params, "pause", defaults.pause, float) if _flag(params, "break_pauses") else 0,
        split_speakers=_flag(params, "break_speakers"),
        speaker_labels=speaker_labels,
    )


def _flag(params, name: str) -> bool:
    # Checkboxes: absent means off, but only when the options form was sent;
    # a plain link gets every default.
    if "options" not in params:
        return True
    return params.get(name) in ("1", "true", "on", "yes")


def _number(params, name: str, default, kind=int):
    try:
        return kind(params.get(name, default))
    except (TypeError, ValueError):
        return default


def download(result: exports.Export, title: str) -> HttpResponse:
    response = HttpResponse(result.content, content_type=result.content_type)
    response["Content-Disposition"] = _attachment(title, result.extension)
    return response


def _attachment(title: str, extension: str) -> str:
    safe = "".join(char if char.isalnum() or char in " -_" else "_" for char in title).strip() or "transcript"
    ascii_name = safe.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}.{extension}\"; filename*=UTF-8''{quote(safe)}.{extension}"
