"""NUL characters sent to the API are refused as problem details (they
were 500s on Postgres); a typed backslash-u0000 is text, not a NUL."""

from __future__ import annotations

import json

import pytest

from tests.transcripts.factories import done_transcript, sentence_data
from tests.transcripts.test_text_inputs import refused_with_message


@pytest.fixture
def transcript(user):
    return done_transcript(user, sentence_data("we met on tuesday to talk about the budget"))


@pytest.mark.django_db
def test_nul_in_the_api_is_refused_as_a_problem(api, transcript):
    refused_with_message(api.get("/api/v1/search", {"q": "budget\x00"}), api=True)
    body = json.dumps({"edits": [{"op": "correct", "first": 0, "last": 0, "text": "x\x00y"}]})
    response = api.post(
        f"/api/v1/transcripts/{transcript.pk}/result/edits", body, content_type="application/json", HTTP_IF_MATCH="*"
    )
    refused_with_message(response, api=True)


@pytest.mark.django_db
def test_a_backslash_u0000_typed_as_text_is_not_a_nul(api, transcript):
    response = api.get("/api/v1/search", {"q": "\\u0000"})
    assert response.status_code == 200, response.content
