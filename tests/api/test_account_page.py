"""The account page's Developer API section: tokens made (shown once),
listed with their last use, revoked; webhooks added (private targets
refused), tested, with their delivery log."""

from __future__ import annotations

import pytest
from django.test import TestCase

from api.models import ApiToken, WebhookDelivery, WebhookEndpoint
from api.webhooks import delivery
from tests.api.conftest import bearer
from tests.api.receiver import Receiver

pytestmark = pytest.mark.django_db


def test_a_token_is_made_shown_once_and_revoked(auth_client, user):
    page = auth_client.post("/api/account/tokens", {"name": "Nightly import", "read_only": "on"}, follow=True)
    html = page.content.decode()
    token = ApiToken.objects.get(owner=user)
    assert token.name == "Nightly import" and token.read_only
    secret = html.split('id="shown-secret" readonly value="', 1)[1].split('"', 1)[0]
    assert secret.startswith("vb_") and ApiToken.resolve(secret) == token
    assert bearer(secret).get("/api/v1/me").status_code == 200
    again = auth_client.get("/accounts/").content.decode()
    assert secret not in again and "Nightly import" in again and token.hint in again  # once only
    revoked = auth_client.post(f"/api/account/tokens/{token.pk}/revoke", follow=True).content.decode()
    assert "The token “Nightly import” no longer works." in revoked
    assert bearer(secret).get("/api/v1/me").status_code == 401
    assert f'data-token-id="{token.pk}"' not in auth_client.get("/accounts/").content.decode()


def test_a_token_needs_a_name(auth_client):
    page = auth_client.post("/api/account/tokens", {"name": ""}, follow=True)
    assert "This field is required." in page.content.decode() and not ApiToken.objects.exists()


def test_a_private_webhook_target_is_refused_with_the_reason(auth_client):
    page = auth_client.post("/api/account/webhooks", {"url": "http://127.0.0.1:8080/in"}, follow=True)
    assert "private, loopback or link-local" in page.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_webhook_is_added_tested_and_its_deliveries_shown(auth_client, user, settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    monkeypatch.setattr(delivery, "enqueue", lambda delivery_id, countdown=0: delivery.attempt(delivery_id))
    with Receiver(statuses=[500]) as receiver:
        page = auth_client.post("/api/account/webhooks", {"url": receiver.url, "description": "CI"}, follow=True)
        endpoint = WebhookEndpoint.objects.get(owner=user)
        assert endpoint.secret in page.content.decode()
        with TestCase.captureOnCommitCallbacks(execute=True):
            auth_client.post(f"/api/account/webhooks/{endpoint.pk}/ping")
        html = auth_client.get("/accounts/").content.decode()
        assert endpoint.secret not in html
        assert 'data-delivery-state="pending"' in html and "HTTP 500" in html and "next try" in html
        assert len(receiver.requests) == 1
    auth_client.post(f"/api/account/webhooks/{endpoint.pk}/delete")
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()


def test_another_users_tokens_and_webhooks_are_404(client, user, other_user, settings):
    token, _ = ApiToken.issue(user, name="mine")
    endpoint = WebhookEndpoint.objects.create(owner=user, url="https://example.com/in")
    client.force_login(other_user)
    for url in (
        f"/api/account/tokens/{token.pk}/revoke",
        f"/api/account/webhooks/{endpoint.pk}/delete",
        f"/api/account/webhooks/{endpoint.pk}/ping",
    ):
        assert client.post(url).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None and WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
