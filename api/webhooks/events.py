"""Which deliveries an ended job makes: a `transcript.done` or
`transcript.failed` event for each of the owner's endpoints that wants it,
and for a Scribe-compatible request made with `webhook=true` its
`speech_to_text_transcription` event (to the endpoint it named, or to every
endpoint subscribed to that event)."""

from __future__ import annotations

import logging
import time

from django.db import transaction

from api.models import ScribeRequest, WebhookDelivery, WebhookEndpoint, WebhookEvent
from transcripts.models import Status, Transcript

log = logging.getLogger(__name__)


def on_job_ended(sender, transcript_id: int, status: str, **_) -> None:
    """The job_ended listener (connected in ApiConfig.ready)."""
    transcript = Transcript.objects.select_related("media").filter(pk=transcript_id).first()
    if transcript is None:
        return
    event = WebhookEvent.TRANSCRIPT_DONE if status == Status.DONE else WebhookEvent.TRANSCRIPT_FAILED
    endpoints = list(WebhookEndpoint.objects.filter(owner_id=transcript.owner_id, active=True))
    planned = [
        (endpoint, event, transcript_payload(transcript, event)) for endpoint in endpoints if endpoint.wants(event)
    ]
    scribe = (
        ScribeRequest.objects.filter(transcript=transcript, webhook=True).select_related("webhook_endpoint").first()
    )
    if scribe is not None:
        planned += [
            (endpoint, WebhookEvent.SCRIBE_TRANSCRIPTION, scribe_payload(transcript, scribe))
            for endpoint in scribe_targets(scribe, endpoints)
        ]
    record(transcript, planned)


def scribe_targets(scribe: ScribeRequest, endpoints: list[WebhookEndpoint]) -> list[WebhookEndpoint]:
    if scribe.webhook_endpoint is not None:
        return [scribe.webhook_endpoint] if scribe.webhook_endpoint.active else []
    return [endpoint for endpoint in endpoints if endpoint.wants(WebhookEvent.SCRIBE_TRANSCRIPTION)]


def record(transcript: Transcript | None, planned: list[tuple[WebhookEndpoint, str, dict]]) -> list[int]:
    from api.webhooks.delivery import enqueue

    with transaction.atomic():
        ids = [
            WebhookDelivery.objects.create(endpoint=endpoint, event=event, transcript=transcript, payload=payload).pk
            for endpoint, event, payload in planned
        ]
        for delivery_id in ids:
            transaction.on_commit(lambda delivery_id=delivery_id: enqueue(delivery_id))
    return ids


def transcript_payload(transcript: Transcript, event: str) -> dict:
    from api.serializers import TranscriptSerializer

    data: dict = {"transcript": TranscriptSerializer(transcript).data}
    if event == WebhookEvent.TRANSCRIPT_DONE:
        result = getattr(transcript, "result", None)
        data["text"] = result.text if result is not None else ""
    return envelope(event, data)


def scribe_payload(transcript: Transcript, scribe: ScribeRequest) -> dict:
    """The body ElevenLabs sends for a webhook-mode request (scribe-api.md §5);
    a failed job carries `error` instead of `transcription`."""
    from api.compat import scribe_shapes

    data: dict = {"request_id": scribe.request_id, "webhook_metadata": scribe.webhook_metadata}
    if transcript.status == Status.DONE:
        data["transcription"] = scribe_shapes.response_for(transcript, scribe)
    else:
        data["transcription"] = None
        data["error"] = {"status": "transcription_failed", "message": transcript.error}
    return envelope(WebhookEvent.SCRIBE_TRANSCRIPTION, data)


def ping(endpoint: WebhookEndpoint) -> int:
    """A test event for one endpoint (from the account page or the API)."""
    payload = envelope(WebhookEvent.PING, {"message": "A test event from Verbatim."})
    return record(None, [(endpoint, WebhookEvent.PING, payload)])[0]


def envelope(event: str, data: dict) -> dict:
    return {"type": str(event), "event_timestamp": int(time.time()), "data": data}
