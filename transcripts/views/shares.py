"""The owner's side of share links: make one (shown once), list, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from transcripts import sharing
from transcripts.models import ShareLink, Status
from transcripts.views.common import owned_transcript


def shares(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = owned_transcript(request, pk)
    new_url = ""
    if request.method == "POST":
        if transcript.status != Status.DONE:
            messages.error(request, "Only a finished transcript can be shared.")
        else:
            try:
                days = int(request.POST.get("expires_in_days") or 0) or None
            except ValueError:
                days = None
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
            "other_links": sharing.other_links(transcript),
            "new_url": new_url,
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def revoke_share(request: HttpRequest, pk: int, link_id: int) -> HttpResponse:
    transcript = owned_transcript(request, pk)
    link = get_object_or_404(ShareLink, pk=link_id, transcript=transcript)
    if link.revoke():
        messages.success(request, "The link no longer works.")
    return redirect("transcripts:shares", pk=transcript.pk)
