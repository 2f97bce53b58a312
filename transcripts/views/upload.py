"""The upload page, and the single-request upload endpoint (forms without
scripts, small files from API clients). The page's script uploads through
the resumable endpoint instead (views/tus.py)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from transcripts.formatting import human_size
from transcripts.forms import UploadOptionsForm
from transcripts.media.limits import UploadRejected, too_large_message
from transcripts.quotas import QuotaExceeded
from transcripts.views.common import job_json


def upload_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "transcripts/upload.html",
        {
            "form": UploadOptionsForm(),
            "capabilities": UploadOptionsForm.engine_capabilities(),
            "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
            "max_upload_human": human_size(settings.MAX_UPLOAD_BYTES),
            "chunk_bytes": settings.UPLOAD_CHUNK_SIZE,
        },
    )


@require_POST
def upload(request: HttpRequest) -> JsonResponse:
    """One file per request (the page sends each file on its own, with its own
    progress bar). Answers JSON: the new job, or an error to show."""
    uploaded = request.FILES.get("file")  # parses the body; may stop at the limit
    if getattr(request, "upload_too_large", False):
        return JsonResponse({"error": too_large_message()}, status=413)
    if uploaded is None:
        return JsonResponse({"error": "Choose a file to upload."}, status=400)
    form = UploadOptionsForm(request.POST)
    if not form.is_valid():
        message = " ".join(error for errors in form.errors.values() for error in errors)
        return JsonResponse({"error": message, "fields": form.errors}, status=400)
    try:
        transcript = form.save(request.user, uploaded)
    except UploadRejected as error:
        return JsonResponse({"error": str(error)}, status=400)
    except QuotaExceeded as error:
        return JsonResponse({"error": str(error)}, status=403)
    return job_json(transcript.pk, status=201)
