"""The transcript page and its recording."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from transcripts import results
from transcripts.engines.registry import available_engines
from transcripts.exports import FORMATS
from transcripts.exports.subtitles import CueOptions
from transcripts.media import streaming
from transcripts.models import ShareLink, Status, Transcript
from transcripts.views.common import owned_transcript


def transcript_context(transcript: Transcript, *, editable: bool) -> dict:
    """What the owner's page and the share page both show."""
    body = results.page_body(transcript.pk, editable=editable) if transcript.status == Status.DONE else None
    return {
        "transcript": transcript,
        "body_html": body.html if body else "",
        "has_words": bool(body and body.has_words),
        "speakers": body.speakers if body else [],
        "cue_defaults": CueOptions(),
        "formats": FORMATS,
    }


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = owned_transcript(request, pk)
    context = transcript_context(transcript, editable=True)
    context["media_url"] = reverse("transcripts:media", args=[pk]) if transcript.media_id else ""
    context["share_count"] = ShareLink.objects.usable().filter(transcript=transcript).count()
    context["engines"] = available_engines()
    # The version the page's edits are based on (the API's If-Match).
    context["result_version"] = results.current_version(pk) or ""
    return render(request, "transcripts/detail.html", context)


def media(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = owned_transcript(request, pk)
    if transcript.media is None:
        raise Http404("This transcript has no recording.")
    return streaming.media_response(request, transcript.media)
