"""Library search: full text over one user's transcripts, filters, passages and deep links."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.transcripts.factories import done_transcript, sentence_data
from transcripts import results, search
from transcripts.document import edits as editing
from transcripts.models import Status, Transcript, TranscriptResult


@pytest.fixture
def library(user, other_user):
    budget = done_transcript(
        user,
        sentence_data(
            "welcome everyone today we review the quarterly budget and the hiring plan for next year", step=0.5
        ),
        title="Budget call",
    )
    done_transcript(
        user,
        sentence_data("the design review covers colours typography and layout"),
        title="Design review",
        language_code="fra",
        engine="scribe",
    )
    done_transcript(
        other_user, sentence_data("the quarterly budget of another company is secret"), title="Bob's budget"
    )
    return budget


def hits(user, **filters):
    return search.search(user, search.Filters(**filters))


@pytest.mark.django_db
def test_finds_a_phrase_with_passage_and_moment(user, library):
    [hit] = hits(user, q="quarterly budget")
    assert hit.transcript == library
    assert hit.match == "quarterly budget"
    assert hit.before.endswith("we review the") and hit.after.startswith("and the hiring")
    assert hit.seconds == pytest.approx(6 * 0.5)


@pytest.mark.django_db
def test_search_never_shows_another_users_transcripts(user, other_user, library):
    assert [h.transcript.title for h in hits(other_user, q="budget")] == ["Bob's budget"]
    assert [h.transcript.title for h in hits(user, q="secret")] == []


@pytest.mark.django_db
def test_all_words_must_match_and_case_is_ignored(user, library):
    assert [h.transcript.title for h in hits(user, q="REVIEW")] == ["Budget call", "Design review"] or sorted(
        h.transcript.title for h in hits(user, q="REVIEW")
    ) == ["Budget call", "Design review"]
    assert [h.transcript.title for h in hits(user, q="review typography")] == ["Design review"]
    assert hits(user, q="budget typography") == []


@pytest.mark.django_db
def test_filters_combine_with_search(user, library):
    assert [h.transcript.title for h in hits(user, q="review", language="fra")] == ["Design review"]
    assert [h.transcript.title for h in hits(user, q="review", engine="local")] == ["Budget call"]
    today = timezone.localdate()
    assert len(hits(user, q="review", date_from=today, date_to=today)) == 2
    assert hits(user, q="review", date_to=today - timedelta(days=1)) == []
    Transcript.objects.filter(title="Design review").update(created=timezone.now() - timedelta(days=40))
    assert [h.transcript.title for h in hits(user, q="review", date_from=today - timedelta(days=7))] == ["Budget call"]


@pytest.mark.django_db
def test_edits_are_searchable(user, library):
    result = TranscriptResult.objects.get(transcript=library)
    i = next(i for i, w in enumerate(result.data["words"]) if w["text"] == "hiring")
    results.edit(library.pk, lambda data: editing.correct_words(data, i, i, "recruiting"))
    assert [h.match for h in hits(user, q="recruiting")] == ["recruiting"]
    assert hits(user, q="hiring") == []


@pytest.mark.django_db
def test_postgres_uses_the_gin_index(user, library):
    if connection.vendor != "postgresql":
        pytest.skip("Postgres only")
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM transcripts_transcriptresult "
            "WHERE search_vector @@ websearch_to_tsquery('simple', 'budget')"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "transcripts_result_search_gin" in plan


@pytest.mark.django_db
def test_sqlite_fallback_matches_terms_and_phrases(user, library, monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    assert [h.transcript.title for h in hits(user, q='"quarterly budget"')] == ["Budget call"]
    assert [h.transcript.title for h in hits(user, q="typography layout")] == ["Design review"]
    assert hits(user, q='"budget quarterly"') == []


@pytest.mark.django_db
def test_library_page_shows_passages_with_deep_links(auth_client, library):
    page = auth_client.get("/transcripts/", {"q": "hiring plan"}).content.decode()
    assert f'href="/transcripts/{library.pk}/?t=5.00"' in page
    assert "<mark>hiring plan</mark>" in page
    assert "Design review" not in page
    filtered = auth_client.get("/transcripts/", {"status": Status.FAILED}).content.decode()
    assert "No transcripts match these filters." in filtered
