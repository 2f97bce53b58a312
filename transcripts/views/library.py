"""The library: the signed-in user's transcripts, filtered or searched."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from transcripts import search
from transcripts.engines.registry import available_engines
from transcripts.models import Status, Transcript


def library(request: HttpRequest) -> HttpResponse:
    filters = search.Filters.from_query(request.GET)
    mine = Transcript.objects.owned_by(request.user)
    context = {
        "filters": filters,
        "statuses": Status.choices,
        "engines": available_engines(),
        "languages": mine.exclude(language_code="")
        .order_by("language_code")
        .values_list("language_code", flat=True)
        .distinct(),
    }
    if filters.q:
        context["hits"] = search.search(request.user, filters)
    else:
        context["transcripts"] = search.filtered(request.user, filters)[:500]
    return render(request, "transcripts/library.html", context)
