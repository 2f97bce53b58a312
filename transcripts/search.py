"""Library search: full text across one user's transcripts, with filters.

On Postgres it matches `TranscriptResult.search_vector` (kept by a trigger,
GIN-indexed) with `websearch_to_tsquery` (quotes, `or` and `-word` work as
people expect from search boxes). On SQLite it falls back to a
case-insensitive substring match per term. Either way the passage and the
moment in the audio come from the canonical words of the page of hits only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from transcripts.document.words import normalise_words
from transcripts.engines.registry import engine_paths
from transcripts.models import Status, Transcript, TranscriptResult

RESULTS_LIMIT = 20
PASSAGE_BEFORE, PASSAGE_AFTER = 10, 14
_PHRASE = re.compile(r'"([^"]+)"')


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: str = ""
    language: str = ""
    engine: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_query(cls, params) -> Filters:
        return cls(
            q=_text(params, "q")[:200],
            status=params.get("status", "") if params.get("status") in Status.values else "",
            language=_text(params, "language")[:16],
            engine=params.get("engine", "") if params.get("engine") in engine_paths() else "",
            date_from=_date(params.get("from")),
            date_to=_date(params.get("to")),
        )

    @property
    def any(self) -> bool:
        return bool(self.q or self.status or self.language or self.engine or self.date_from or self.date_to)


@dataclass
class Hit:
    transcript: Transcript
    seconds: float | None = None
    before: str = ""
    match: str = ""
    after: str = ""


def _text(params, name: str) -> str:
    # Postgres text cannot hold NUL: a query with one was a 500.
    return params.get(name, "").replace("\x00", "").strip()


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def filtered(user, filters: Filters) -> QuerySet:
    transcripts = Transcript.objects.owned_by(user)
    if filters.status:
        transcripts = transcripts.filter(status=filters.status)
    if filters.language:
        transcripts = transcripts.filter(language_code__iexact=filters.language)
    if filters.engine:
        transcripts = transcripts.filter(engine=filters.engine)
    zone = timezone.get_current_timezone()
    if filters.date_from:
        transcripts = transcripts.filter(created__gte=datetime.combine(filters.date_from, time.min, zone))
    if filters.date_to:
        transcripts = transcripts.filter(created__lte=datetime.combine(filters.date_to, time.max, zone))
    return transcripts


def search(user, filters: Filters, limit: int = RESULTS_LIMIT) -> list[Hit]:
    """Transcripts whose words match `filters.q`, newest first, with passages.

    Every hit contains every word searched for, so newest first is what
    people look for in their own library ("last month's call"), and unlike
    ranking it does not have to score every match of a common word."""
    transcripts = filtered(user, filters).filter(status=Status.DONE).order_by("-created", "-id")
    if connection.vendor == "postgresql":
        query = SearchQuery(filters.q, config="simple", search_type="websearch")
        transcripts = transcripts.filter(result__search_vector=query)
    else:
        for term in _fallback_terms(filters.q):
            transcripts = transcripts.filter(result__text__icontains=term)
    rows = list(transcripts[:limit])
    return _with_passages(rows, filters.q)


def _fallback_terms(q: str) -> list[str]:
    phrases = _PHRASE.findall(q)
    rest = _PHRASE.sub(" ", q)
    words = [word for word in rest.split() if not word.startswith("-") and word.lower() != "or"]
    return [phrase.strip() for phrase in phrases if phrase.strip()] + words


def _with_passages(rows: list[Transcript], q: str) -> list[Hit]:
    data_by_id = dict(
        TranscriptResult.objects.filter(transcript_id__in=[row.pk for row in rows]).values_list("transcript_id", "data")
    )
    terms = _query_terms(q)
    return [_hit(row, data_by_id.get(row.pk) or {}, terms) for row in rows]


def _query_terms(q: str) -> list[str]:
    cleaned = " ".join(
        word for word in q.replace('"', " ").split() if not word.startswith("-") and word.lower() != "or"
    )
    return normalise_words(cleaned)


def _hit(row: Transcript, data: dict, terms: list[str]) -> Hit:
    tokens = [word for word in data.get("words", []) if word["type"] == "word"]
    at = _find(tokens, terms)
    hit = Hit(transcript=row)
    if at is None:
        return hit
    position, length = at
    texts = [word["text"] for word in tokens]
    hit.seconds = tokens[position].get("start")
    hit.before = " ".join(texts[max(0, position - PASSAGE_BEFORE) : position])
    hit.match = " ".join(texts[position : position + length])
    hit.after = " ".join(texts[position + length : position + length + PASSAGE_AFTER])
    if position > PASSAGE_BEFORE:
        hit.before = "… " + hit.before
    if position + length + PASSAGE_AFTER < len(texts):
        hit.after += " …"
    return hit


def _find(tokens: list[dict], terms: list[str]) -> tuple[int, int] | None:
    """(position, length) of the whole phrase, else of the first term found.
    Words are normalised lazily: most searches stop early."""
    if not terms:
        return None
    cache: dict[int, str] = {}

    def word(position: int) -> str:
        if position not in cache:
            cache[position] = " ".join(normalise_words(tokens[position]["text"]))
        return cache[position]

    count = len(terms)
    first_seen: dict[str, int] = {}
    for position in range(len(tokens)):
        current = word(position)
        if current in terms:
            first_seen.setdefault(current, position)
        if (
            current == terms[0]
            and position + count <= len(tokens)
            and all(word(position + k) == terms[k] for k in range(1, count))
        ):
            return position, count
    for term in terms:
        if term in first_seen:
            return first_seen[term], 1
    return None
