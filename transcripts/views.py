"""Upload, library and transcript views. Every query is scoped to the
signed-in user, so another user's id answers 404."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from realtime.progress import SNAPSHOT_FIELDS, snapshot
from transcripts import search, services
from transcripts.formatting import human_size
from transcripts.forms import RenameForm, UploadOptionsForm
from transcripts.models import Engine, Status, Transcript


def safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return None


def owned_transcript(request: HttpRequest, pk: int) -> Transcript:
    return get_object_or_404(Transcript.objects.owned_by(request.user).select_related("media"), pk=pk)


def library(request: HttpRequest) -> HttpResponse:
    filters = search.Filters.from_query(request.GET)
    context = {
        "filters": filters,
        "statuses": Status.choices,
        "engines": Engine.choices,
        "languages": Transcript.objects.owned_by(request.user)
        .exclude(language_code="")
        .order_by("language_code")
        .values_list("language_code", flat=True)
        .distinct(),
    }
    if filters.q:
        context["hits"] = search.search(request.user, filters)
    else:
        context["transcripts"] = search.filtered(request.user, filters)[:500]
    return render(request, "transcripts/library.html", context)


def upload_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "transcripts/upload.html",
        {
            "form": UploadOptionsForm(),
            "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
            "max_upload_human": human_size(settings.MAX_UPLOAD_BYTES),
        },
    )


@require_POST
def upload(request: HttpRequest) -> JsonResponse:
    """One file per request (the page sends each file on its own, with its own
    progress bar). Answers JSON: the new job, or an error to show."""
    uploaded = request.FILES.get("file")  # parses the body; may stop at the limit
    if getattr(request, "upload_too_large", False):
        return JsonResponse(
            {"error": f"This file is larger than the {human_size(settings.MAX_UPLOAD_BYTES)} limit."}, status=413
        )
    if uploaded is None:
        return JsonResponse({"error": "Choose a file to upload."}, status=400)
    form = UploadOptionsForm(request.POST)
    if not form.is_valid():
        message = " ".join(error for errors in form.errors.values() for error in errors)
        return JsonResponse({"error": message, "fields": form.errors}, status=400)
    try:
        transcript = services.create_upload(
            request.user, uploaded, engine=form.cleaned_data["engine"], options=form.options()
        )
    except services.UploadRejected as error:
        return JsonResponse({"error": str(error)}, status=400)
    row = Transcript.objects.filter(pk=transcript.pk).values(*SNAPSHOT_FIELDS).get()
    return JsonResponse(snapshot(row), status=201)


def job_status(request: HttpRequest, pk: int) -> JsonResponse:
    owned_transcript(request, pk)
    row = Transcript.objects.filter(pk=pk).values(*SNAPSHOT_FIELDS).get()
    return JsonResponse(snapshot(row))


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
    return _back(request, transcript)


@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = owned_transcript(request, pk)
    if not services.retry(transcript):
        messages.info(request, "Only a failed or cancelled job can be retried.")
    return _back(request, transcript)


def _back(request: HttpRequest, transcript: Transcript) -> HttpResponse:
    if request.headers.get("accept", "").startswith("application/json"):
        row = Transcript.objects.filter(pk=transcript.pk).values(*SNAPSHOT_FIELDS).get()
        return JsonResponse(snapshot(row))
    return redirect(safe_next(request) or "transcripts:library")
