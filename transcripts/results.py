"""A finished transcript's words: stored, read and edited in one place.

`TranscriptResult.data` is the truth. Two read-through caches sit beside it
on the same row: the page's rendered body (`page_cache`) and a compact copy
for exports (`export_cache`), each tagged with the `updated` time of the row
it was made from. The one invalidation rule: every write of `data` goes
through this module and moves `updated`, so a cache whose tag is not the
row's `updated` is stale and is rebuilt on its next read.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone

from transcripts import signals
from transcripts.document import canonical, compact, edits, html
from transcripts.exports import to_json
from transcripts.models import Transcript, TranscriptResult

log = logging.getLogger(__name__)


def cache_key(updated) -> str:
    return updated.isoformat()


def version_of(key: str) -> str:
    """The version of a result as clients see it (the API's ETag), from its
    cache key: it changes with every write of `data`."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class VersionMismatch(Exception):
    """The result changed since the version an edit was based on."""


def _current(transcript_id: int) -> tuple[int, object] | None:
    """(result pk, updated) without loading any of the large columns."""
    return TranscriptResult.objects.filter(transcript_id=transcript_id).values_list("pk", "updated").first()


def _column(pk: int, name: str):
    return TranscriptResult.objects.filter(pk=pk).values_list(name, flat=True).first()


def _fill(pk: int, updated, **cache) -> None:
    # Only if nobody edited in between; `updated` is left alone (update() skips auto_now).
    TranscriptResult.objects.filter(pk=pk, updated=updated).update(**cache)


# --- reading --------------------------------------------------------------------


def current_version(transcript_id: int) -> str | None:
    row = _current(transcript_id)
    return None if row is None else version_of(cache_key(row[1]))


def page_body(transcript_id: int, *, editable: bool) -> html.Body | None:
    """The rendered body for the transcript page."""
    row = _current(transcript_id)
    if row is None:
        return None
    pk, updated = row
    key = cache_key(updated)
    cache = _column(pk, "page_cache") or {}
    if cache.get("key") != key:
        cache = html.page_cache(_column(pk, "data"), key)
        _fill(pk, updated, page_cache=cache)
    return html.as_body(cache, editable=editable)


def export_data(transcript_id: int) -> dict | None:
    """The words for exports: from the compact copy when it is current, else
    from `data` (and the copy is stored for next time)."""
    row = _current(transcript_id)
    if row is None:
        return None
    pk, updated = row
    key = cache_key(updated)
    cached = _column(pk, "export_cache") or ""
    if compact.key_of(cached) == key:
        return compact.load(cached)
    data = _column(pk, "data")
    _fill(pk, updated, export_cache=compact.dump(data, key))
    return data


def json_bytes(transcript_id: int) -> bytes | None:
    found = versioned_json(transcript_id)
    return None if found is None else found[0]


def versioned_json(transcript_id: int) -> tuple[bytes, str] | None:
    """The canonical JSON as stored, and its version, read together. Postgres
    prints jsonb itself, several times faster than parsing megabytes into
    Python and dumping them again."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT data::text, updated FROM transcripts_transcriptresult WHERE transcript_id = %s",
                [transcript_id],
            )
            row = cursor.fetchone()
        return (row[0].encode(), version_of(cache_key(row[1]))) if row else None
    row = TranscriptResult.objects.filter(transcript_id=transcript_id).values_list("data", "updated").first()
    return None if row is None else (to_json(row[0]), version_of(cache_key(row[1])))


def prerender(transcript_id: int) -> None:
    """Fill a long transcript's page cache now (in the worker that finished
    it), so even its first view skips parsing the words. Best-effort: the
    page renders on demand if this fails."""
    try:
        page_body(transcript_id, editable=False)
    except Exception:
        log.exception("Could not pre-render transcript %s", transcript_id)


# --- writing ----------------------------------------------------------------------


def edit(transcript_id: int, operation: Callable[[dict], dict], *, expected_version: str | None = None) -> dict:
    """Run `operation(data) -> data` and save it with the page's rendered
    body; returns that page cache (its "key" gives the new version). The row
    is locked for the read-modify-write, so two edits in quick succession
    (two tabs, a double click) both land; with `expected_version`, an edit
    based on an older version raises VersionMismatch instead. `original` is
    never written."""
    return _save(transcript_id, "data", operation, expected_version)


def revert(transcript_id: int, *, expected_version: str | None = None) -> dict:
    """Back to the engine's output."""
    return _save(transcript_id, "original", edits.revert, expected_version)


def _save(transcript_id: int, source: str, operation: Callable[[dict], dict], expected_version: str | None) -> dict:
    with transaction.atomic():
        result = (
            TranscriptResult.objects.select_for_update().only("id", "updated", source).get(transcript_id=transcript_id)
        )
        if expected_version is not None and version_of(cache_key(result.updated)) != expected_version:
            raise VersionMismatch()
        before = getattr(result, source)
        data = edits.refresh_text(operation(before))
        duration = Transcript.objects.filter(pk=transcript_id).values_list("duration", flat=True).first()
        edits.check_growth(before, data, edits.token_allowance(duration))
        now = timezone.now()
        cache = html.page_cache(data, cache_key(now))
        # The export copy is rebuilt by the next export (most edits are followed by more edits).
        TranscriptResult.objects.filter(pk=result.pk).update(
            data=data, text=data["text"], updated=now, page_cache=cache, export_cache=""
        )
        transaction.on_commit(lambda: signals.announce_transcript_edited(transcript_id))
    return cache


def add_words(transcript_id: int, words: list[dict]) -> None:
    """Merge `words` (tokens without spacing, each with start and end) into
    the transcript by time, in the engine's output as well as the edited
    copy: a live session's gaps filled from its recording are part of what
    the engine produced, so undoing edits keeps them."""
    with transaction.atomic():
        result = (
            TranscriptResult.objects.select_for_update().only("id", "data", "original").get(transcript_id=transcript_id)
        )
        data, original = (_merged(version, words) for version in (result.data, result.original))
        now = timezone.now()
        TranscriptResult.objects.filter(pk=result.pk).update(
            data=data,
            original=original,
            text=data["text"],
            updated=now,
            page_cache=html.page_cache(data, cache_key(now)),
            export_cache="",
        )


def _merged(version: dict, words: list[dict]) -> dict:
    tokens = [word for word in version.get("words", []) if word.get("type") != "spacing"] + list(words)
    tokens.sort(key=lambda word: (word.get("start") or 0.0, word.get("end") or 0.0))
    return edits.refresh_text({**version, "words": canonical.with_spacing(tokens)})
