"""The fake Scribe server is faithful: the official `elevenlabs` SDK (the
reference client) works against it, and it answers errors the way the
documented API does. No Django database is needed here."""

from __future__ import annotations

import json

import httpx
import pytest
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError

from tests.fakes.scribe import FakeScribe, Fault


@pytest.fixture
def fake():
    with FakeScribe() as server:
        yield server


@pytest.fixture
def sdk(fake):
    # max_retries=0: the SDK's own retry drops form fields (doc §9).
    return ElevenLabs(base_url=fake.base_url, api_key=fake.api_key, timeout=30)


AUDIO = b"RIFF" + b"\0" * 4000


def test_sdk_convert_returns_a_transcript_with_speakers(fake, sdk):
    result = sdk.speech_to_text.convert(
        model_id="scribe_v2",
        file=("a.wav", AUDIO, "audio/wav"),
        diarize=True,
        language_code="en",
        keyterms=["Verbatim", "Scribe fake"],
        tag_audio_events=False,
        timestamps_granularity="word",
        request_options={"max_retries": 0},
    )
    assert result.transcription_id
    assert {word.speaker_id for word in result.words if word.type == "word"} == {"speaker_0", "speaker_1"}
    assert "".join(word.text for word in result.words) == result.text
    request = fake.stt_requests()[-1]
    assert request.headers["xi-api-key"] == fake.api_key
    assert request.fields("keyterms") == ["Verbatim", "Scribe fake"]
    assert request.fields("diarize") == ["true"]
    assert request.fields("tag_audio_events") == ["false"]
    assert request.fields("file")[0]["size"] == len(AUDIO)
    # The SDK always sends these; the fake treats "null" as absent.
    assert request.fields("webhook_metadata") == ["null"]


def test_sdk_additional_formats_is_one_json_part(fake, sdk):
    result = sdk.speech_to_text.convert(
        model_id="scribe_v2",
        file=("a.wav", AUDIO, "audio/wav"),
        additional_formats=[{"format": "srt"}, {"format": "txt"}],
        request_options={"max_retries": 0},
    )
    assert [item.requested_format for item in result.additional_formats] == ["srt", "txt"]
    request = fake.stt_requests()[-1]
    assert len(request.fields("additional_formats")) == 1
    assert json.loads(request.fields("additional_formats")[0])[0]["format"] == "srt"
    assert ("additional_formats", "application/json") in request.part_content_types


def test_sdk_multichannel(fake, sdk):
    result = sdk.speech_to_text.convert(
        model_id="scribe_v2",
        file=("a.wav", AUDIO, "audio/wav"),
        use_multi_channel=True,
        request_options={"max_retries": 0},
    )
    assert [chunk.channel_index for chunk in result.transcripts] == [0, 1]


def test_sdk_webhook_mode_acknowledges(fake, sdk):
    result = sdk.speech_to_text.convert(
        model_id="scribe_v2",
        file=("a.wav", AUDIO, "audio/wav"),
        webhook=True,
        webhook_metadata={"job": 7},
        request_options={"max_retries": 0},
    )
    assert result.request_id and result.transcription_id
    assert json.loads(fake.stt_requests()[-1].fields("webhook_metadata")[0]) == {"job": 7}


def test_sdk_get_and_delete_transcript(fake, sdk):
    created = sdk.speech_to_text.convert(
        model_id="scribe_v2", file=("a.wav", AUDIO, "audio/wav"), request_options={"max_retries": 0}
    )
    fetched = sdk.speech_to_text.transcripts.get(created.transcription_id)
    assert fetched.text == created.text
    sdk.speech_to_text.transcripts.delete(created.transcription_id)
    with pytest.raises(ApiError) as error:
        sdk.speech_to_text.transcripts.get(created.transcription_id, request_options={"max_retries": 0})
    assert error.value.status_code == 404
    assert error.value.body["detail"]["status"] == "not_found_error"


def test_sdk_single_use_token_is_issued_and_single_use(fake, sdk):
    token = sdk.tokens.single_use.create("batch_scribe").token
    assert token.startswith("sutkn_")
    anonymous = ElevenLabs(base_url=fake.base_url, api_key="")
    params = {"token": token}
    ok = anonymous.speech_to_text.convert(
        model_id="scribe_v2",
        file=("a.wav", AUDIO, "audio/wav"),
        request_options={"max_retries": 0, "additional_query_parameters": params},
    )
    assert ok.text
    with pytest.raises(ApiError) as error:
        anonymous.speech_to_text.convert(
            model_id="scribe_v2",
            file=("a.wav", AUDIO, "audio/wav"),
            request_options={"max_retries": 0, "additional_query_parameters": params},
        )
    assert error.value.status_code == 401


def test_sdk_bad_key_is_401_with_detail(fake):
    sdk = ElevenLabs(base_url=fake.base_url, api_key="wrong")
    with pytest.raises(ApiError) as error:
        sdk.speech_to_text.convert(
            model_id="scribe_v2", file=("a.wav", AUDIO, "audio/wav"), request_options={"max_retries": 0}
        )
    assert error.value.status_code == 401
    assert error.value.body["detail"]["status"] == "invalid_api_key"


def test_missing_model_is_a_422_list(fake):
    response = httpx.post(
        f"{fake.base_url}/v1/speech-to-text",
        headers={"xi-api-key": fake.api_key},
        files={"file": ("a.wav", AUDIO, "audio/wav")},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "model_id"]


def test_keyterms_as_one_json_part_is_rejected(fake):
    # One JSON-array part is a single (invalid) term: 400 invalid_keyword_length (ISS py#819).
    response = httpx.post(
        f"{fake.base_url}/v1/speech-to-text",
        headers={"xi-api-key": fake.api_key},
        data={"model_id": "scribe_v2", "keyterms": '["one", "two", "three", "four", "five", "six"]'},
        files={"file": ("a.wav", AUDIO, "audio/wav")},
    )
    assert response.status_code == 400
    assert response.json()["detail"]["code"] == "invalid_keyword_length"


def test_out_of_range_values_are_422(fake):
    response = httpx.post(
        f"{fake.base_url}/v1/speech-to-text",
        headers={"xi-api-key": fake.api_key},
        data={"model_id": "scribe_v2", "num_speakers": "40", "temperature": "3"},
        files={"file": ("a.wav", AUDIO, "audio/wav")},
    )
    assert response.status_code == 422
    assert {error["loc"][1] for error in response.json()["detail"]} == {"num_speakers", "temperature"}


def test_fault_queue_status_and_retry_after(fake):
    fake.faults.push("stt", Fault("status", status=429, headers={"Retry-After": "2"}))
    response = httpx.post(
        f"{fake.base_url}/v1/speech-to-text",
        headers={"xi-api-key": fake.api_key},
        data={"model_id": "scribe_v2"},
        files={"file": ("a.wav", AUDIO, "audio/wav")},
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert response.json()["detail"]["code"] == "concurrent_limit_exceeded"


def test_drop_after_body_still_creates_the_transcript(fake):
    fake.faults.push("stt", Fault("drop_after_body"))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(
            f"{fake.base_url}/v1/speech-to-text",
            headers={"xi-api-key": fake.api_key},
            data={"model_id": "scribe_v2"},
            files={"file": ("a.wav", AUDIO, "audio/wav")},
        )
    assert len(fake.transcripts) == 1
