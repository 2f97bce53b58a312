"""The Scribe webhook endpoint: only correctly signed, fresh deliveries have
effects, and a repeated delivery (even ten at once) stores one transcript."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client

from transcripts.engines.scribe.webhook import site_tag, verify_signature
from transcripts.models import Media, Status, Transcript, TranscriptResult

SECRET = "whsec_current"
OLD_SECRET = "whsec_previous"
URL = "/webhooks/scribe/"


def sign(body: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v0={hmac.new(secret.encode(), f'{timestamp}.'.encode() + body, hashlib.sha256).hexdigest()}"


def payload_for(transcript_id: int) -> bytes:
    words = [
        {"text": "Hello", "start": 0.0, "end": 0.4, "type": "word", "speaker_id": "speaker_0", "logprob": -0.1},
        {"text": " ", "start": 0.4, "end": 0.5, "type": "spacing", "speaker_id": "speaker_0", "logprob": 0.0},
        {"text": "there.", "start": 0.5, "end": 0.9, "type": "word", "speaker_id": "speaker_1", "logprob": -0.2},
    ]
    return json.dumps(
        {
            "type": "speech_to_text_transcription",
            "event_timestamp": int(time.time()),
            "data": {
                "request_id": "a" * 32,
                "webhook_metadata": {"transcript_id": transcript_id, "site": site_tag()},
                "transcription": {
                    "language_code": "eng",
                    "language_probability": 0.99,
                    "text": "Hello there.",
                    "words": words,
                    "transcription_id": "nJn7Iy1UFLm5T0aEpd7L",
                },
            },
        }
    ).encode()


@pytest.fixture
def secrets_configured(settings):
    settings.SCRIBE_WEBHOOK_SECRETS = [SECRET, OLD_SECRET]
    return settings


@pytest.fixture
def waiting_job(user):
    media = Media.objects.create(
        owner=user,
        file="media/x.wav",
        original_name="x.wav",
        size=10,
        format_name="wav",
        duration=3600,
        channels=1,
        sample_rate=16000,
    )
    return Transcript.objects.create(
        owner=user,
        media=media,
        title="x",
        engine="scribe",
        status=Status.WAITING,
        provider_request_id="nJn7Iy1UFLm5T0aEpd7L",
    )


def post(client: Client, body: bytes, signature: str | None):
    headers = {"ElevenLabs-Signature": signature} if signature is not None else {}
    return client.post(URL, body, content_type="application/json", headers=headers)


def reserialised(body: bytes) -> bytes:
    return json.dumps(json.loads(body), indent=2, sort_keys=True).encode()


def tampered(body: bytes) -> bytes:
    return body.replace(b"Hello there.", b"Goodbye now.")


CASES = {
    # name: (make body from the signed body, make signature header from the signed body, accepted)
    "valid": (lambda b: b, lambda b: sign(b), True),
    "rotated secret": (lambda b: b, lambda b: sign(b, secret=OLD_SECRET), True),
    "two v0 entries": (lambda b: b, lambda b: sign(b, secret="whsec_unknown") + "," + sign(b).split(",")[1], True),
    "tampered body": (tampered, lambda b: sign(b), False),
    "re-serialised body": (reserialised, lambda b: sign(b), False),
    "wrong secret": (lambda b: b, lambda b: sign(b, secret="whsec_wrong"), False),
    "too old": (lambda b: b, lambda b: sign(b, timestamp=int(time.time()) - 31 * 60), False),
    "too far in the future": (lambda b: b, lambda b: sign(b, timestamp=int(time.time()) + 6 * 60), False),
    "slightly in the future": (lambda b: b, lambda b: sign(b, timestamp=int(time.time()) + 60), True),
    "no v0": (lambda b: b, lambda b: sign(b).split(",")[0], False),
    "no timestamp": (lambda b: b, lambda b: sign(b).split(",")[1], False),
    "two timestamps": (lambda b: b, lambda b: f"t=1,{sign(b)}", False),
    "missing header": (lambda b: b, lambda b: None, False),
    "garbage header": (lambda b: b, lambda b: "nonsense", False),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(CASES))
def test_webhook_signature_table(secrets_configured, waiting_job, client, case):
    make_body, make_signature, accepted = CASES[case]
    signed = payload_for(waiting_job.pk)
    response = post(client, make_body(signed), make_signature(signed))
    waiting_job.refresh_from_db()
    if accepted:
        assert response.status_code == 200, response.content
        assert waiting_job.status == Status.DONE
        assert TranscriptResult.objects.get(transcript=waiting_job).text == "Hello there."
    else:
        assert response.status_code == 401
        assert waiting_job.status == Status.WAITING
        assert not TranscriptResult.objects.filter(transcript=waiting_job).exists()


@pytest.mark.django_db
def test_duplicate_delivery_is_a_no_op(secrets_configured, waiting_job, client):
    body = payload_for(waiting_job.pk)
    assert post(client, body, sign(body)).json() == {"status": "stored"}
    stored = TranscriptResult.objects.get(transcript=waiting_job)
    assert post(client, body, sign(body)).json() == {"status": "duplicate"}
    assert TranscriptResult.objects.filter(transcript=waiting_job).count() == 1
    assert TranscriptResult.objects.get(transcript=waiting_job).updated == stored.updated


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_copies_store_one_transcript(secrets_configured, waiting_job):
    body = payload_for(waiting_job.pk)
    signature = sign(body)
    barrier = threading.Barrier(10)

    def deliver(_):
        from django.db import connection

        client = Client()
        barrier.wait()
        try:
            return post(client, body, signature).json()["status"]
        finally:
            connection.close()

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(deliver, range(10)))
    assert sorted(statuses) == ["duplicate"] * 9 + ["stored"]
    assert TranscriptResult.objects.filter(transcript=waiting_job).count() == 1
    waiting_job.refresh_from_db()
    assert waiting_job.status == Status.DONE


@pytest.mark.django_db
def test_webhook_for_a_cancelled_job_stores_nothing(secrets_configured, waiting_job, client):
    waiting_job.cancel()
    body = payload_for(waiting_job.pk)
    assert post(client, body, sign(body)).json() == {"status": "duplicate"}
    assert not TranscriptResult.objects.filter(transcript=waiting_job).exists()


@pytest.mark.django_db
def test_signed_payload_of_unknown_job_or_type_is_ignored(secrets_configured, waiting_job, client):
    other = json.loads(payload_for(waiting_job.pk))
    other["data"]["webhook_metadata"] = {"transcript_id": waiting_job.pk + 1000, "site": site_tag()}
    body = json.dumps(other).encode()
    assert post(client, body, sign(body)).json() == {"status": "ignored"}
    other["data"]["webhook_metadata"] = {"transcript_id": waiting_job.pk, "site": "another-install"}
    body = json.dumps(other).encode()
    assert post(client, body, sign(body)).json() == {"status": "ignored"}
    other["data"]["webhook_metadata"] = {"transcript_id": waiting_job.pk, "site": site_tag()}
    other["type"] = "post_call_transcription"
    body = json.dumps(other).encode()
    assert post(client, body, sign(body)).json() == {"status": "ignored"}
    waiting_job.refresh_from_db()
    assert waiting_job.status == Status.WAITING


@pytest.mark.django_db
def test_webhook_needs_no_login_or_csrf_but_only_post(secrets_configured, waiting_job):
    client = Client(enforce_csrf_checks=True)
    body = payload_for(waiting_job.pk)
    assert post(client, body, sign(body)).status_code == 200
    assert client.get(URL).status_code == 405


@pytest.mark.django_db
def test_without_configured_secrets_the_endpoint_refuses(settings, waiting_job, client):
    settings.SCRIBE_WEBHOOK_SECRETS = []
    body = payload_for(waiting_job.pk)
    assert post(client, body, sign(body)).status_code == 404
    waiting_job.refresh_from_db()
    assert waiting_job.status == Status.WAITING


def test_verify_signature_tolerance_edges():
    body = b"{}"
    now = 1_800_000_000
    assert verify_signature(sign(body, timestamp=now - 30 * 60), body, [SECRET], now=now)
    assert not verify_signature(sign(body, timestamp=now - 30 * 60 - 1), body, [SECRET], now=now)
    assert verify_signature(sign(body, timestamp=now + 5 * 60), body, [SECRET], now=now)
    assert not verify_signature(sign(body, timestamp=now + 5 * 60 + 1), body, [SECRET], now=now)
    assert not verify_signature(sign(body, timestamp=now), body, [], now=now)
