"""What the views share: the owner's lookups and how to answer."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme

from transcripts.jobs.progress import SNAPSHOT_FIELDS, snapshot
from transcripts.models import Status, Transcript, TranscriptResult


def owned_transcript(request: HttpRequest, pk: int) -> Transcript:
    return get_object_or_404(Transcript.objects.owned_by(request.user).select_related("media"), pk=pk)


def finished_transcript(request: HttpRequest, pk: int) -> Transcript:
    transcript = owned_transcript(request, pk)
    if transcript.status != Status.DONE or not TranscriptResult.objects.filter(transcript=transcript).exists():
        raise Http404("This transcript is not finished.")
    return transcript


def wants_json(request: HttpRequest) -> bool:
    """The page's scripts ask for JSON; a plain form post gets a redirect."""
    return "application/json" in request.headers.get("Accept", "")


def safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return None


def job_json(transcript_id: int, status: int = 200) -> JsonResponse:
    row = Transcript.objects.filter(pk=transcript_id).values(*SNAPSHOT_FIELDS).get()
    return JsonResponse(snapshot(row), status=status)


def back(request: HttpRequest, transcript: Transcript) -> HttpResponse:
    """After an action on a job: its state for a script, else back to the list."""
    if wants_json(request):
        return job_json(transcript.pk)
    return redirect(safe_next(request) or "transcripts:library")
