"""The public side of share links: a read-only page, its media and downloads.

Each request resolves the token again, so a revoked or expired link answers
404 at once; unknown, revoked and expired tokens answer the same 404. Pages
are `noindex`, not cached, and send no Referer (the token is in the URL).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from transcripts import sharing
from transcripts.media import streaming
from transcripts.models import ShareLink
from transcripts.views.exports import export_response
from transcripts.views.transcript import transcript_context


def _link(token: str) -> ShareLink:
    link = sharing.resolve(token)
    if link is None:
        raise Http404("No such link.")
    return link


def _private(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_not_required
@require_safe
def page(request: HttpRequest, token: str) -> HttpResponse:
    link = _link(token)
    context = transcript_context(link.transcript, editable=False)
    context.update(
        {
            "link": link,
            "token": token,
            "media_url": reverse("share_media", args=[token]) if link.allow_audio and link.transcript.media_id else "",
        }
    )
    return _private(render(request, "transcripts/shared.html", context))


@login_not_required
@require_safe
def media(request: HttpRequest, token: str) -> HttpResponse:
    link = _link(token)
    if not link.allow_audio or link.transcript.media is None:
        raise Http404("No such link.")
    return _private(streaming.media_response(request, link.transcript.media))


@login_not_required
@require_safe
def export(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    link = _link(token)
    if not link.allow_download:
        raise Http404("No such link.")
    return _private(export_response(link.transcript_id, fmt, link.transcript.title, request.GET))
