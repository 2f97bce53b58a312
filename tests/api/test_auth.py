"""API tokens: bearer authentication, stored hashed, read-only scope,
last-used time, revocation; errors as problem details."""

from __future__ import annotations

import pytest
from django.urls import reverse

from api.models import ApiToken
from tests.api.conftest import bearer

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["detail"] and body["type"].startswith("urn:verbatim:problem:")
    if code:
        assert body["code"] == code
    return body


def test_a_token_authenticates_its_owner(api, user):
    response = api.get(ME)
    assert response.status_code == 200
    assert response.json() == {
        "username": "alice",
        "email": "alice@example.com",
        "token": {"name": "script", "read_only": False},
    }


def test_without_a_token_the_answer_is_401_with_a_challenge(client):
    body = assert_problem(client.get(ME), 401, "not_authenticated")
    assert body["instance"] == ME
    assert client.get(ME)["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_401(user):
    body = assert_problem(bearer("vb_not-a-real-token").get(ME), 401, "authentication_failed")
    assert "not valid" in body["detail"]


def test_tokens_are_stored_hashed_and_shown_once(user):
    token, secret = ApiToken.issue(user, name="cron")
    assert secret.startswith("vb_") and len(secret) > 40
    stored = ApiToken.objects.values_list("token_hash", "hint").get(pk=token.pk)
    assert secret not in stored[0] and stored[1] == secret[:10]
    assert ApiToken.resolve(secret) == token


def test_a_revoked_token_stops_working_at_once(user):
    token, secret = ApiToken.issue(user, name="old")
    client = bearer(secret)
    assert client.get(ME).status_code == 200
    assert token.revoke()
    assert_problem(client.get(ME), 401)


def test_a_read_only_token_reads_but_changes_nothing(user):
    _, secret = ApiToken.issue(user, name="dashboard", read_only=True)
    client = bearer(secret)
    assert client.get("/api/v1/transcripts").status_code == 200
    body = assert_problem(client.post("/api/v1/webhooks", {"url": "https://example.com/hook"}), 403)
    assert body["detail"] == "This API token is read-only."


def test_last_used_is_recorded(user):
    token, secret = ApiToken.issue(user, name="cron")
    assert token.last_used_at is None
    bearer(secret).get(ME)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_page_session_works_without_a_token(auth_client):
    assert auth_client.get(ME).json()["token"] is None


def test_an_inactive_users_tokens_stop_working(user):
    _, secret = ApiToken.issue(user, name="cron")
    user.is_active = False
    user.save()
    assert_problem(bearer(secret).get(ME), 401)


def test_the_schema_and_docs_are_served(client):
    schema = client.get(reverse("api:schema"), HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/v1/transcripts" in schema.json()["paths"]
    docs = client.get(reverse("api:docs"))
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
