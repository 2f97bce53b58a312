"""The official SDKs against a running Verbatim (Daphne and a Celery worker,
the local engine): ElevenLabs' `speech_to_text.convert` in sync and webhook
mode, its transcripts and single-use tokens; OpenAI's
`audio.transcriptions.create` in every response format, parsed back."""

from __future__ import annotations

import io
import json

import pytest
import srt
import webvtt
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError
from openai import OpenAI

from api.models import ApiToken, ScribeRequest, WebhookDelivery, WebhookEndpoint
from tests import support
from tests.api.receiver import Receiver
from tests.web import words_found
from transcripts.models import Status, Transcript

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SPOKEN = "The quick brown fox jumps over the lazy dog near the river bank."


@pytest.fixture
def recording():
    return support.speech_file(SPOKEN)


@pytest.fixture
def site(make_site):
    running = make_site(WEBHOOK_ALLOW_PRIVATE_TARGETS="true", WEBHOOK_RETRY_BASE_SECONDS="0.2")
    yield running
    print(running.logs())


@pytest.fixture
def key(user) -> str:
    return ApiToken.issue(user, name="sdk")[1]


def test_the_official_sdks_against_a_running_site(site, key, user, recording):
    """One site for the synchronous proofs (each site costs a Daphne and a worker)."""
    elevenlabs_sync(site, key, user, recording)
    openai_formats(site, key, recording)
    openai_errors(site, key, recording)


def elevenlabs_sync(site, key, user, recording):
    client = ElevenLabs(api_key=key, base_url=site.base_url)
    with recording.open("rb") as file:
        result = client.speech_to_text.convert(
            file=file,
            model_id="scribe_v2",
            language_code="en",
            tag_audio_events=False,
            additional_formats=[{"format": "srt"}, {"format": "txt", "include_timestamps": False}],
        )
    assert words_found(SPOKEN, result.text) >= 0.8, result.text
    assert result.language_code == "en" and result.audio_duration_secs > 2
    assert [word.type for word in result.words if word.type != "spacing"][0] == "word"
    srt_file, txt_file = result.additional_formats
    assert srt_file.requested_format == "srt" and list(srt.parse(srt_file.content))
    assert txt_file.content_type == "text/plain" and "[0:" not in txt_file.content
    transcript = Transcript.objects.get(pk=int(result.transcription_id))
    assert transcript.owner == user and transcript.status == Status.DONE  # in the library

    again = client.speech_to_text.transcripts.get(transcription_id=result.transcription_id)
    assert again.text == result.text
    client.speech_to_text.transcripts.delete(transcription_id=result.transcription_id)
    assert not Transcript.objects.filter(pk=transcript.pk).exists()
    from elevenlabs.errors import NotFoundError

    with pytest.raises(NotFoundError):
        client.speech_to_text.transcripts.get(transcription_id=result.transcription_id)


def test_elevenlabs_sdk_webhook_mode_delivers_a_signed_result(site, key, user, recording):
    with Receiver(statuses=[503]) as receiver:  # the first delivery fails and is retried
        endpoint = WebhookEndpoint.objects.create(owner=user, url=receiver.url)
        client = ElevenLabs(api_key=key, base_url=site.base_url)
        batch_token = client.tokens.single_use.create("batch_scribe").token
        keyless = ElevenLabs(api_key="not-used-with-a-token", base_url=site.base_url)
        with recording.open("rb") as file:
            ack = keyless.speech_to_text.convert(
                file=file, model_id="scribe_v2", token=batch_token, webhook=True, webhook_metadata={"batch": 42}
            )
        assert ack.message == "Request accepted. Transcription result will be sent to the webhook."
        with recording.open("rb") as file, pytest.raises(ApiError) as reused:  # single use: not twice
            keyless.speech_to_text.convert(file=file, model_id="scribe_v2", token=batch_token, webhook=True)
        assert reused.value.status_code == 401 and reused.value.body["detail"]["code"] == "invalid_token"
        # Two events (transcript.done and the Scribe one); the first POST got a 503 and was retried.
        support.wait_until(lambda: len(receiver.requests) >= 3, 90, message="both events, one retried")
        deliveries = list(WebhookDelivery.objects.order_by("pk"))
        assert [d.state for d in deliveries] == ["delivered", "delivered"]
        assert sorted(d.attempts for d in deliveries) == [1, 2]
        (delivered,) = [r for r in receiver.requests if r.headers["Verbatim-Event"] == "speech_to_text_transcription"]
        event = client.webhooks.construct_event(
            delivered.body.decode(), delivered.headers["ElevenLabs-Signature"], endpoint.secret
        )
    assert event["type"] == "speech_to_text_transcription"
    assert event["data"]["request_id"] == ack.request_id and event["data"]["webhook_metadata"] == {"batch": 42}
    transcription = event["data"]["transcription"]
    assert transcription["transcription_id"] == ack.transcription_id
    assert words_found(SPOKEN, transcription["text"]) >= 0.8
    assert ScribeRequest.objects.get(request_id=ack.request_id).transcript.owner == user
    assert {json.loads(r.body)["type"] for r in receiver.requests} == {"transcript.done", event["type"]}


def openai_formats(site, key, recording):
    client = OpenAI(api_key=key, base_url=site.base_url + "/v1", max_retries=0)

    def create(**options):
        with recording.open("rb") as file:
            return client.audio.transcriptions.create(model="whisper-1", file=file, **options)

    assert words_found(SPOKEN, create().text) >= 0.8
    prompted = create(response_format="text", language="en", prompt="A fox and a dog by a river.")
    assert words_found(SPOKEN, prompted) >= 0.8
    cues = list(srt.parse(create(response_format="srt")))
    assert cues and words_found(SPOKEN, " ".join(cue.content for cue in cues)) >= 0.8
    vtt = webvtt.from_buffer(io.StringIO(create(response_format="vtt", temperature=0.0)))
    assert words_found(SPOKEN, " ".join(caption.text for caption in vtt.captions)) >= 0.8
    verbose = create(response_format="verbose_json", timestamp_granularities=["word", "segment"])
    assert verbose.language == "english" and verbose.duration > 2
    assert verbose.segments and verbose.segments[0].start >= 0 and verbose.segments[-1].end <= verbose.duration + 0.5
    assert [w.word for w in verbose.words][:2] and words_found(SPOKEN, " ".join(w.word for w in verbose.words)) >= 0.8
    assert Transcript.objects.filter(status=Status.DONE).count() == 5  # each request is in the library


def openai_errors(site, key, recording):
    from openai import AuthenticationError, BadRequestError

    with recording.open("rb") as file, pytest.raises(AuthenticationError):
        OpenAI(api_key="vb_wrong", base_url=site.base_url + "/v1", max_retries=0).audio.transcriptions.create(
            model="whisper-1", file=file
        )
    client = OpenAI(api_key=key, base_url=site.base_url + "/v1", max_retries=0)
    with recording.open("rb") as file, pytest.raises(BadRequestError) as refused:
        client.audio.transcriptions.create(model="whisper-1", file=file, response_format="mp3")
    assert refused.value.body["param"] == "response_format"
