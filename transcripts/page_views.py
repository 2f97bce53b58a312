"""The transcript page: reading, the media stream, edits, exports and the
owner's share links. Every view looks the transcript up among the signed-in
user's own, so another user's id answers 404."""

from __future__ import annotations

from django.contrib import messages
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from transcripts import compact, editing, exports, rendering, sharing, streaming
from transcripts.models import ShareLink, Status, Transcript, TranscriptResult
from transcripts.subtitles import CueOptions
from transcripts.views import owned_transcript

NEW_SPEAKER = "__new__"


def _finished(request: HttpRequest, pk: int) -> Transcript:
    transcript = owned_transcript(request, pk)
    if transcript.status != Status.DONE or not TranscriptResult.objects.filter(transcript=transcript).exists():
        raise Http404("This transcript is not finished.")
    return transcript


def load_data(transcript_id: int) -> dict:
    data = compact.data_for_export(transcript_id)
    if data is None:
        raise Http404("This transcript is not finished.")
    return data


def load_json_bytes(transcript_id: int) -> bytes:
    """The canonical JSON as stored. Postgres prints jsonb itself, which is
    several times faster than parsing megabytes into Python and dumping them again."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT data::text FROM transcripts_transcriptresult WHERE transcript_id = %s", [transcript_id]
            )
            row = cursor.fetchone()
        if row is None:
            raise Http404("This transcript is not finished.")
        return row[0].encode()
    data = TranscriptResult.objects.filter(transcript_id=transcript_id).values_list("data", flat=True).first()
    if data is None:
        raise Http404("This transcript is not finished.")
    return exports.to_json(data)


def transcript_context(transcript: Transcript, *, editable: bool) -> dict:
    body = rendering.body_for(transcript.pk, editable=editable) if transcript.status == Status.DONE else None
    return {
        "transcript": transcript,
        "body_html": body.html if body else "",
        "has_words": bool(body and body.has_words),
        "speakers": body.speakers if body else [],
        "cue_defaults": CueOptions(),
        "formats": exports.FORMATS,
    }


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = owned_transcript(request, pk)
    context = transcript_context(transcript, editable=True)
    context["media_url"] = reverse("transcripts:media", args=[pk]) if transcript.media_id else ""
    context["share_count"] = ShareLink.objects.live().filter(transcript=transcript).count()
    return render(request, "transcripts/detail.html", context)


def media(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = owned_transcript(request, pk)
    if transcript.media is None:
        raise Http404("This transcript has no recording.")
    return streaming.media_response(request, transcript.media)


# --- exports --------------------------------------------------------------------


def _flag(params, name: str) -> bool:
    # Checkboxes: absent means off, but only when the options form was sent;
    # a plain link gets every default (see export_response).
    if "options" not in params:
        return True
    return params.get(name) in ("1", "true", "on", "yes")


def _number(params, name: str, default, kind=int):
    try:
        return kind(params.get(name, default))
    except (TypeError, ValueError):
        return default


def export_response(transcript_id: int, fmt: str, title: str, params) -> HttpResponse:
    if fmt not in exports.FORMATS:
        raise Http404("Unknown format.")
    if fmt == "json":
        return _download(exports.Export(load_json_bytes(transcript_id), exports.CONTENT_TYPES["json"], "json"), title)
    text_options = exports.TextOptions(speakers=_flag(params, "speakers"), timestamps=_flag(params, "timestamps"))
    defaults = CueOptions()
    try:
        cue_options = CueOptions(
            max_chars=_number(params, "max_chars", defaults.max_chars),
            max_lines=_number(params, "max_lines", defaults.max_lines),
            max_duration=_number(params, "max_duration", defaults.max_duration, float),
            pause=_number(params, "pause", defaults.pause, float) if _flag(params, "break_pauses") else 0,
            split_speakers=_flag(params, "break_speakers"),
            speaker_labels=text_options.speakers,
        )
    except ValueError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    data = load_data(transcript_id)
    return _download(exports.export(data, fmt, title=title, text_options=text_options, cue_options=cue_options), title)


def _download(result: exports.Export, title: str) -> HttpResponse:
    response = HttpResponse(result.content, content_type=result.content_type)
    response["Content-Disposition"] = _attachment(title, result.extension)
    return response


def _attachment(title: str, extension: str) -> str:
    from urllib.parse import quote

    safe = "".join(char if char.isalnum() or char in " -_" else "_" for char in title).strip() or "transcript"
    ascii_name = safe.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}.{extension}\"; filename*=UTF-8''{quote(safe)}.{extension}"


def export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    transcript = _finished(request, pk)
    return export_response(transcript.pk, fmt, transcript.title, request.GET)


# --- edits (POST + CSRF; JSON for the page's script, a redirect otherwise) ---------


def _edited(request: HttpRequest, transcript: Transcript, operation) -> HttpResponse:
    try:
        cache = editing.apply(transcript.pk, operation)
    except editing.EditError as error:
        if _wants_json(request):
            return JsonResponse({"error": str(error)}, status=400)
        messages.error(request, str(error))
        return redirect(transcript.get_absolute_url())
    return _edit_answer(request, transcript, cache)


def _edit_answer(request: HttpRequest, transcript: Transcript, cache: dict) -> HttpResponse:
    if _wants_json(request):
        body = rendering.as_body(cache, editable=True)
        return JsonResponse({"html": body.html, "speakers": body.speakers})
    return redirect(transcript.get_absolute_url())


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _index(request: HttpRequest, name: str) -> int:
    try:
        return int(request.POST.get(name, ""))
    except ValueError:
        return -1


@require_POST
def rename_speaker(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = _finished(request, pk)
    speaker_id, name = request.POST.get("speaker_id", ""), request.POST.get("name", "")
    return _edited(request, transcript, lambda data: editing.rename_speaker(data, speaker_id, name))


@require_POST
def reassign_turn(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = _finished(request, pk)
    first, last = _index(request, "first"), _index(request, "last")
    target = request.POST.get("speaker_id", "")
    speaker_id = None if target == NEW_SPEAKER else target
    return _edited(request, transcript, lambda data: editing.reassign(data, first, last, speaker_id))


@require_POST
def correct_words(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = _finished(request, pk)
    first, last = _index(request, "first"), _index(request, "last")
    if last < 0:
        last = first
    text = request.POST.get("text", "")
    return _edited(request, transcript, lambda data: editing.correct_words(data, first, last, text))


@require_POST
def revert(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = _finished(request, pk)
    cache = editing.revert_saved(transcript.pk)
    if not _wants_json(request):
        messages.success(request, "Restored the original transcript.")
    return _edit_answer(request, transcript, cache)


# --- share links (owner side) ------------------------------------------------------


def shares(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = owned_transcript(request, pk)
    new_url = ""
    if request.method == "POST":
        if transcript.status != Status.DONE:
            messages.error(request, "Only a finished transcript can be shared.")
        else:
            days = _number(request.POST, "expires_in_days", 0) or None
            try:
                _, token = sharing.create_link(
                    transcript,
                    expires_in_days=days,
                    label=request.POST.get("label", ""),
                    allow_audio=request.POST.get("allow_audio") == "on",
                    allow_download=request.POST.get("allow_download") == "on",
                )
            except ValueError as error:
                messages.error(request, str(error))
            else:
                # Shown once: only the token's hash is kept.
                new_url = request.build_absolute_uri(reverse("share", args=[token]))
    response = render(
        request,
        "transcripts/shares.html",
        {
            "transcript": transcript,
            "links": sharing.links_for(transcript),
            "new_url": new_url,
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def revoke_share(request: HttpRequest, pk: int, link_id: int) -> HttpResponse:
    transcript = owned_transcript(request, pk)
    link = get_object_or_404(ShareLink, pk=link_id, transcript=transcript)
    if sharing.revoke(link):
        messages.success(request, "The link no longer works.")
    return redirect("transcripts:shares", pk=transcript.pk)
