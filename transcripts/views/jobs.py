"""Actions on a job: its status, rename, delete, cancel, retry, and a new
batch pass over its recording."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from transcripts import services
from transcripts.forms import RenameForm
from transcripts.models import Transcript
from transcripts.quotas import QuotaExceeded
from transcripts.views.common import back, job_json, owned_transcript, safe_next


def job_status(request: HttpRequest, pk: int) -> JsonResponse:
    owned_transcript(request, pk)
    return job_json(pk)


@require_POST
def rename(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = owned_transcript(request, pk)
    form = RenameForm(request.POST)
    if form.is_valid():
        Transcript.objects.filter(pk=transcript.pk).update(title=form.cleaned_data["title"])
        messages.success(request, "Renamed.")
    else:
        messages.error(request, "A title needs 1 to 255 characters.")
    return redirect(safe_next(request) or transcript.get_absolute_url())


@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = owned_transcript(request, pk)
    services.delete(transcript)
    messages.success(request, f"Deleted “{transcript.title}” and its recording.")
    return redirect("transcripts:library")


@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = owned_transcript(request, pk)
    if not services.cancel(transcript):
        messages.info(request, "This job had already finished.")
    return back(request, transcript)


@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = owned_transcript(request, pk)
    try:
        if not services.retry(transcript):
            messages.info(request, "Only a failed or cancelled job can be retried.")
    except QuotaExceeded as error:
        messages.error(request, str(error))
    return back(request, transcript)


@require_POST
def retranscribe(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = owned_transcript(request, pk)
    try:
        batch = services.retranscribe(transcript, engine=request.POST.get("engine") or None)
    except (services.Refused, QuotaExceeded) as error:
        messages.error(request, str(error))
        return redirect(transcript.get_absolute_url())
    messages.success(request, "A batch transcription of this recording was queued; the transcript is kept.")
    return redirect(batch.get_absolute_url())
