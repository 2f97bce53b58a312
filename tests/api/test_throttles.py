"""Per-user throttles on creation, token minting and search: 429 with
Retry-After in each contract's envelope, counted per user, reads free."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests import support
from tests.api.test_auth import assert_problem
from tests.api.test_scribe_compat import scribe_error

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def test_creation_is_throttled_per_user(api, bob_api, settings):
    settings.API_RATE_CREATE = "2/minute"
    path = support.speech_file("Throttled uploads wait their turn.")
    answers = []
    for _ in range(3):
        with path.open("rb") as file:
            answers.append(api.post("/api/v1/transcripts", {"file": file}, format="multipart"))
    assert [answer.status_code for answer in answers] == [202, 202, 429]
    body = assert_problem(answers[-1], 429, "rate_limited")
    assert int(answers[-1]["Retry-After"]) > 0 and "try again in" in body["detail"]
    assert api.get("/api/v1/transcripts").status_code == 200  # reading is not counted
    with path.open("rb") as file:
        assert bob_api.post("/api/v1/transcripts", {"file": file}, format="multipart").status_code == 202


def test_token_minting_is_throttled(api, settings):
    settings.API_RATE_TOKENS = "1/minute"
    assert api.post("/api/v1/live/tokens", {}, format="json").status_code == 201
    assert_problem(api.post("/api/v1/live/tokens", {}, format="json"), 429)


def test_search_is_throttled(api, settings):
    settings.API_RATE_SEARCH = "1/minute"
    assert api.get("/api/v1/search", {"q": "budget"}).status_code == 200
    assert_problem(api.get("/api/v1/search", {"q": "budget"}), 429)


def test_the_compatible_endpoints_share_the_creation_rate(client, token, settings):
    settings.API_RATE_CREATE = "1/minute"
    settings.API_RATE_TOKENS = "1/minute"
    headers = {"xi-api-key": token}
    assert client.post("/v1/speech-to-text", {}, headers=headers).status_code == 422  # counted, then refused
    detail = scribe_error(client.post("/v1/speech-to-text", {}, headers=headers), 429, "rate_limit_exceeded")
    assert detail["type"] == "rate_limit_error"
    openai = client.post("/v1/audio/transcriptions", {}, headers={"Authorization": f"Bearer {token}"})
    assert openai.status_code == 429 and openai.json()["error"]["code"] == "rate_limit_exceeded"
    assert client.post("/v1/single-use-token/realtime_scribe", headers=headers).status_code == 200
    assert client.post("/v1/single-use-token/realtime_scribe", headers=headers).status_code == 429
