"""Live captions pages: the microphone page, live viewer links, and the
"re-transcribe in batch" action. Thin: the work is in realtime/services.py."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from realtime import services
from realtime.models import LiveLink, LiveSession
from transcripts import canonical
from transcripts.models import Engine, Transcript

LINK_LIFETIMES = {"": None, "1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}


def live_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "realtime/live.html",
        {
            "engines": [(Engine.LOCAL, "Local (offline)")]
            + ([(Engine.SCRIBE, "ElevenLabs Scribe")] if settings.ELEVENLABS_API_KEY else []),
            "default_engine": "scribe" if settings.ELEVENLABS_API_KEY else "local",
            "max_sessions": settings.LIVE_MAX_SESSIONS_PER_USER,
        },
    )


@require_POST
def create_link(request: HttpRequest, session_uuid) -> JsonResponse:
    session = get_object_or_404(LiveSession, uuid=session_uuid, owner=request.user)
    new = services.create_link(session, expires_in=LINK_LIFETIMES.get(request.POST.get("expires", ""), None))
    url = request.build_absolute_uri(reverse("realtime:viewer", args=[new.token]))
    return JsonResponse(
        {"id": new.link.pk, "url": url, "revoke": reverse("realtime:revoke_link", args=[new.link.pk])}, status=201
    )


@require_POST
def revoke_link(request: HttpRequest, pk: int) -> JsonResponse:
    link = get_object_or_404(LiveLink, pk=pk, session__owner=request.user)
    services.revoke_link(link)
    return JsonResponse({"revoked": True})


@login_not_required
def viewer(request: HttpRequest, token: str) -> HttpResponse:
    session = services.session_for_token(token)
    if session is None:
        raise Http404("No live session here.")
    transcript = session.transcript if not session.is_active else None
    result = getattr(transcript, "result", None) if transcript else None
    return render(
        request,
        "realtime/viewer.html",
        {
            "session": session,
            "ws_path": f"/ws/live/view/{token}/",
            "big": request.GET.get("view") == "captions",
            "segments": list(session.segments.values_list("text", flat=True)) if session.is_active else [],
            "turns": canonical.turns(result.data) if result else [],
            "token": token,
        },
    )


@require_POST
def retranscribe(request: HttpRequest, pk: int) -> HttpResponse:
    transcript = get_object_or_404(Transcript.objects.owned_by(request.user).select_related("media"), pk=pk)
    engine = request.POST.get("engine") or None
    try:
        batch = services.retranscribe_in_batch(transcript, engine=engine)
    except services.LiveRefused as error:
        messages.error(request, str(error))
        return redirect(transcript.get_absolute_url())
    messages.success(request, "A batch transcription of this recording was queued; the live transcript is kept.")
    return redirect(batch.get_absolute_url())
