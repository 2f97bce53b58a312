"""Live captions pages: the microphone page and live viewer links. Thin:
the work is in realtime/services.py."""

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
from transcripts import quotas
from transcripts.document import canonical
from transcripts.engines.registry import available_engines, default_engine
from transcripts.forms import UploadOptionsForm, language_choices
from transcripts.views.common import safe_next

# "" is the default lifetime, LIVE_LINK_HOURS.
LINK_LIFETIMES = {"": None, "1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}


def live_page(request: HttpRequest) -> HttpResponse:
    usable = LiveLink.objects.usable().filter(session__owner=request.user)
    # The upload page's languages: the live engines use the same models.
    engines = available_engines()
    return render(
        request,
        "realtime/live.html",
        {
            "engines": engines,
            "default_engine": default_engine(),
            "languages": language_choices(engines),
            "capabilities": UploadOptionsForm.engine_capabilities(),
            "max_sessions": quotas.limits_for(request.user).live_sessions,
            "links": usable.select_related("session").order_by("-created", "-id"),
            # The page's reconnect follows the server's timing (realtime/services.py).
            "resume_seconds": services.RESUME_WAIT_SECONDS,
            "hold_seconds": services.PAGE_HOLD_SECONDS,
            "buffer_seconds": settings.LIVE_MAX_BUFFER_SECONDS,
            "link_hours": settings.LIVE_LINK_HOURS,
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
def revoke_link(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke a viewer link (its connected viewers are closed at once); back
    to `next` for a form, JSON for a script."""
    link = get_object_or_404(LiveLink, pk=pk, session__owner=request.user)
    link.revoke()
    target = safe_next(request)
    if target:
        messages.success(request, "The live link no longer works; its viewers were disconnected.")
        return redirect(target)
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
