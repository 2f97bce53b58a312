"""Webhook mode across real processes: a Celery worker submits to the fake
Scribe server, which calls the site's webhook endpoint (Daphne) with a signed
delivery; the job ends done with one transcript."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from tests.fakes.scribe import FakeScribe
from tests.support import wait_until
from transcripts.engines import TranscriptionOptions
from transcripts.jobs.queue import enqueue
from transcripts.models import Media, Status, Transcript, TranscriptResult

pytestmark = pytest.mark.slow


def test_webhook_mode_finishes_through_the_real_endpoint(make_site, user):
    with FakeScribe() as fake:
        site = make_site(
            ELEVENLABS_API_KEY=fake.api_key,
            ELEVENLABS_BASE_URL=fake.base_url,
            SCRIBE_WEBHOOK_SECRET=f"whsec_old,{fake.webhook_secret}",
            SCRIBE_WEBHOOK_MIN_DURATION="0",
        )
        fake.webhook_url = f"{site.base_url}/webhooks/scribe/"
        media = Media(
            owner=user,
            original_name="call.wav",
            extension=".wav",
            size=4000,
            format_name="wav",
            duration=5400,
            channels=1,
            sample_rate=16000,
        )
        media.file.save("upload", ContentFile(b"RIFF" + bytes(3996)), save=False)
        media.save()
        transcript = Transcript.objects.create(
            owner=user,
            media=media,
            title="call",
            engine="scribe",
            options=TranscriptionOptions(diarize=True).to_dict(),
            duration=5400,
        )
        enqueue(transcript)

        def finished():
            transcript.refresh_from_db()
            return transcript.status in (Status.DONE, Status.FAILED)

        try:
            wait_until(finished, 120, message="job finished")
        except TimeoutError:
            raise AssertionError(f"status {transcript.status}\n{site.logs()}") from None
        assert transcript.status == Status.DONE, transcript.error
        wait_until(lambda: fake.webhook_deliveries, 10, message="webhook answered")
        assert fake.webhook_deliveries[0][0] == 200
        (request,) = fake.stt_requests()
        assert request.fields("webhook") == ["true"]
        assert TranscriptResult.objects.filter(transcript=transcript).count() == 1
