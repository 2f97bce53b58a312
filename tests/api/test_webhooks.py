"""Outgoing webhooks: registered per user, told when jobs end, signed as
ElevenLabs signs (the official SDK verifies them), retried with backoff,
logged; private targets refused unless the operator allows them, checked
again at every delivery."""

from __future__ import annotations

import ipaddress
import json

import pytest
from django.test import TestCase
from django.utils import timezone
from elevenlabs import ElevenLabs

from api.models import SUBSCRIBABLE_EVENTS, DeliveryState, WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.webhooks import delivery, events, targets
from tests.api.receiver import Receiver
from tests.api.test_auth import assert_problem
from tests.transcripts.factories import sentence_data
from transcripts.engines.base import EngineResult
from transcripts.jobs.runner import finish
from transcripts.models import Status, Transcript

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def allow_private(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.01


def sdk_verifies(received, secret: str) -> dict:
    """The official ElevenLabs SDK's own check of a delivery."""
    client = ElevenLabs(api_key="unused", base_url="http://127.0.0.1:9")
    return client.webhooks.construct_event(received.body.decode(), received.headers["ElevenLabs-Signature"], secret)


# --- where webhooks may go ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.20/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:127.0.0.1]/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_private_loopback_and_link_local_targets_are_refused(api, url):
    body = assert_problem(api.post("/api/v1/webhooks", {"url": url}, format="json"), 400, "validation")
    assert "private, loopback or link-local" in body["detail"]
    assert not WebhookEndpoint.objects.exists()


def test_odd_urls_are_refused(api):
    for url in ("ftp://example.com/x", "http://user:pw@example.com/", "not a url"):
        assert_problem(api.post("/api/v1/webhooks", {"url": url}, format="json"), 400)


def test_the_operator_may_allow_private_targets(api, allow_private, receiver):
    response = api.post("/api/v1/webhooks", {"url": receiver.url, "description": "CI"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["events"] == [str(e) for e in SUBSCRIBABLE_EVENTS]
    assert api.get(f"/api/v1/webhooks/{body['id']}").json()["secret"] is None  # shown once


def test_the_target_is_checked_again_at_delivery(api, allow_private, receiver, settings):
    endpoint_id = api.post("/api/v1/webhooks", {"url": receiver.url}, format="json").json()["id"]
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    delivery_id = events.ping(WebhookEndpoint.objects.get(pk=endpoint_id))
    delivery.attempt(delivery_id)
    row = WebhookDelivery.objects.get(pk=delivery_id)
    assert row.state == DeliveryState.FAILED and "private, loopback or link-local" in row.last_error
    assert receiver.requests == []


def test_a_name_that_resolves_elsewhere_later_is_refused(user, monkeypatch, receiver):
    """DNS rebinding: public when registered, loopback when delivering."""
    endpoint = WebhookEndpoint.objects.create(owner=user, url="http://hooks.example.com/in")
    monkeypatch.setattr(targets, "resolve", lambda host, port: [ipaddress.ip_address("127.0.0.1")])
    delivery_id = events.ping(endpoint)
    delivery.attempt(delivery_id)
    assert WebhookDelivery.objects.get(pk=delivery_id).state == DeliveryState.FAILED
    assert receiver.requests == []


def test_the_checked_address_is_the_one_connected_to(monkeypatch, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    monkeypatch.setattr(targets, "resolve", lambda host, port: [ipaddress.ip_address("93.184.216.34")])
    target = targets.check("https://hooks.example.com/in?x=1")
    assert target.url == "https://93.184.216.34:443/in?x=1"
    assert target.host_header == "hooks.example.com" and target.sni_hostname == "hooks.example.com"


# --- deliveries ------------------------------------------------------------------------


def test_a_done_job_is_delivered_signed_and_the_sdk_verifies_it(user, allow_private, receiver):
    endpoint = WebhookEndpoint.objects.create(owner=user, url=receiver.url)
    transcript = Transcript.objects.create(owner=user, title="Call", engine="local", status=Status.TRANSCRIBING)
    with pytest.MonkeyPatch.context() as patch:
        queued = []
        patch.setattr(delivery, "enqueue", lambda delivery_id, countdown=0: queued.append(delivery_id))
        with TestCase.captureOnCommitCallbacks(execute=True):
            finish(transcript.pk, EngineResult(transcript=sentence_data("all done here")))
    assert len(queued) == 1
    delivery.attempt(queued[0])
    (received,) = receiver.wait_for(1)
    event = sdk_verifies(received, endpoint.secret)
    assert event["type"] == "transcript.done" and event["data"]["text"] == "all done here"
    assert event["data"]["transcript"]["id"] == transcript.pk and event["data"]["transcript"]["status"] == "done"
    assert received.headers["Verbatim-Event"] == "transcript.done"
    row = WebhookDelivery.objects.get(pk=queued[0])
    assert row.state == DeliveryState.DELIVERED and row.response_status == 200 and row.attempts == 1


def test_a_failed_job_is_an_event_too(user, allow_private):
    WebhookEndpoint.objects.create(owner=user, url="http://127.0.0.1:9/x")
    WebhookEndpoint.objects.create(owner=user, url="http://127.0.0.1:9/y", events=["transcript.done"])
    transcript = Transcript.objects.create(owner=user, title="Call", engine="local", status=Status.QUEUED)
    with TestCase.captureOnCommitCallbacks(execute=True):
        transcript.fail("The recording is silent.")
    (row,) = WebhookDelivery.objects.all()  # only the endpoint that wants failures
    assert row.event == WebhookEvent.TRANSCRIPT_FAILED
    assert row.payload["data"]["transcript"]["error"] == "The recording is silent."


def test_a_failing_receiver_is_tried_again_with_growing_waits(user, allow_private, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    queued: list[tuple[int, float]] = []
    with Receiver(statuses=[503, 500, 500]) as receiver, pytest.MonkeyPatch.context() as patch:
        patch.setattr(delivery, "enqueue", lambda delivery_id, countdown=0: queued.append((delivery_id, countdown)))
        endpoint = WebhookEndpoint.objects.create(owner=user, url=receiver.url)
        delivery_id = events.record(None, [(endpoint, "ping", {"type": "ping"})])[0]
        for _ in range(3):
            WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())
            delivery.attempt(delivery_id)
        row = WebhookDelivery.objects.get(pk=delivery_id)
        assert row.state == DeliveryState.FAILED and row.attempts == 3 and row.response_status == 500
        assert "Gave up after 3 attempts" in row.last_error
        assert len(receiver.requests) == 3
    waits = [countdown for _, countdown in queued if countdown]
    assert waits == [0.01, 0.04]  # base x 4^n


def test_backoff_grows_to_hours_and_is_capped():
    waits = [delivery.backoff(n) for n in range(1, 11)]
    assert waits[0] == 30 and waits[1] == 120 and max(waits) == 4 * 3600
    assert sum(waits) > 12 * 3600  # retried for hours


def test_a_delivery_is_sent_once_however_many_wake_ups(user, allow_private, receiver):
    endpoint = WebhookEndpoint.objects.create(owner=user, url=receiver.url)
    delivery_id = events.ping(endpoint)
    for _ in range(3):
        delivery.attempt(delivery_id)
    assert len(receiver.wait_for(1)) == 1
    assert WebhookDelivery.objects.get(pk=delivery_id).attempts == 1


def test_the_delivery_log_and_ping_through_the_api(api, allow_private, receiver, monkeypatch):
    monkeypatch.setattr(delivery, "enqueue", lambda delivery_id, countdown=0: delivery.attempt(delivery_id))
    endpoint_id = api.post("/api/v1/webhooks", {"url": receiver.url}, format="json").json()["id"]
    with TestCase.captureOnCommitCallbacks(execute=True):
        ping = api.post(f"/api/v1/webhooks/{endpoint_id}/ping")
    assert ping.status_code == 202
    log = api.get(f"/api/v1/webhooks/{endpoint_id}/deliveries").json()["results"]
    assert log[0]["event"] == "ping" and log[0]["state"] == "delivered" and log[0]["response_status"] == 200
    assert json.loads(receiver.requests[0].body)["type"] == "ping"
    assert api.patch(f"/api/v1/webhooks/{endpoint_id}", {"active": False}, format="json").json()["active"] is False
    assert api.delete(f"/api/v1/webhooks/{endpoint_id}").status_code == 204


def test_another_users_webhook_is_404(api, bob_api, allow_private, receiver):
    endpoint_id = api.post("/api/v1/webhooks", {"url": receiver.url}, format="json").json()["id"]
    for method, url in (("get", ""), ("patch", ""), ("delete", ""), ("get", "/deliveries"), ("post", "/ping")):
        assert_problem(getattr(bob_api, method)(f"/api/v1/webhooks/{endpoint_id}{url}"), 404)
    assert WebhookEndpoint.objects.filter(pk=endpoint_id).exists()
