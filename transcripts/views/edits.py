"""Edits on the transcript page (POST + CSRF): JSON for the page's script,
a redirect for a plain form."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from transcripts import results
from transcripts.document import edits, html
from transcripts.models import Transcript
from transcripts.views.common import finished_transcript, wants_json

NEW_SPEAKER = "__new__"


def _edited(request: HttpRequest, transcript: Transcript, operation) -> HttpResponse:
    try:
        cache = results.edit(transcript.pk, operation)
    except edits.EditError as error:
        if wants_json(request):
            return JsonResponse({"error": str(error)}, status=400)
        messages.error(request, str(error))
        return redirect(transcript.get_absolute_url())
    return _answer(request, transcript, cache)


def _answer(request: HttpRequest, transcript: Transcript, cache: dict) -> HttpResponse:
    if wants_json(request):
        body = html.as_body(cache, editable=True)
        return JsonResponse({"html": body.html, "speakers": body.speakers})
    return redirect(transcript.get_absolute_url())


def _index(request: HttpRequest, name: str) -> int:
    try:
        return int(request.POST.get(name, ""))
    except ValueError:
        return -1


@require_POST
def rename_speaker(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = finished_transcript(request, pk)
    speaker_id, name = request.POST.get("speaker_id", ""), request.POST.get("name", "")
    return _edited(request, transcript, lambda data: edits.rename_speaker(data, speaker_id, name))


@require_POST
def reassign_turn(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = finished_transcript(request, pk)
    first, last = _index(request, "first"), _index(request, "last")
    target = request.POST.get("speaker_id", "")
    speaker_id = None if target == NEW_SPEAKER else target
    return _edited(request, transcript, lambda data: edits.reassign(data, first, last, speaker_id))


@require_POST
def correct_words(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = finished_transcript(request, pk)
    first, last = _index(request, "first"), _index(request, "last")
    if last < 0:
        last = first
    text = request.POST.get("text", "")
    return _edited(request, transcript, lambda data: edits.correct_words(data, first, last, text))


@require_POST
def revert(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = finished_transcript(request, pk)
    cache = results.revert(transcript.pk)
    if not wants_json(request):
        messages.success(request, "Restored the original transcript.")
    return _answer(request, transcript, cache)
