"""The Scribe-compatible endpoints in-process: fields, errors and shapes as
../shared/scribe-api.md documents them. (The official SDK against a real
server is tests/api/test_sdk_proofs.py.)"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from api.compat import scribe_shapes
from api.models import ApiToken, ScribeRequest, SocketToken, WebhookEndpoint
from tests import support
from tests.transcripts.factories import done_transcript, words_from
from transcripts.models import Transcript

pytestmark = pytest.mark.django_db
STT = "/v1/speech-to-text"


@pytest.fixture
def key(user) -> str:
    return ApiToken.issue(user, name="sdk")[1]


@pytest.fixture
def recording():
    return support.speech_file("Scribe compatible requests land in the library.")


def post(client: Client, key: str | None, fields: dict, path: str = STT, **query):
    headers = {"xi-api-key": key} if key else {}
    url = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    return client.post(url, fields, headers=headers)


def scribe_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    detail = response.json()["detail"]
    assert detail["code"] == detail["status"] == code and detail["message"] and len(detail["request_id"]) == 32
    return detail


def test_a_missing_or_wrong_key_is_401_in_scribes_envelope(client, recording):
    with recording.open("rb") as file:
        detail = scribe_error(post(client, None, {"model_id": "scribe_v2", "file": file}), 401, "invalid_api_key")
    assert detail["type"] == "authentication_error"
    scribe_error(post(client, "vb_wrong", {"model_id": "scribe_v2"}), 401, "invalid_api_key")


def test_model_id_and_file_are_required_like_fastapi_says(client, key, recording):
    response = post(client, key, {"language_code": "en"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"type": "missing", "loc": ["body", "model_id"], "msg": "Field required", "input": None}]
    }
    assert post(client, key, {"model_id": "scribe_v2"}).json()["detail"][0]["loc"] == ["body", "file"]


def test_urls_instead_of_a_file_are_refused_with_the_param(client, key):
    detail = scribe_error(
        post(client, key, {"model_id": "scribe_v2", "source_url": "https://x/y.mp3"}), 400, "invalid_parameters"
    )
    assert detail["param"] == "source_url"


def test_a_bad_option_gets_the_upload_forms_message(client, key, recording):
    with recording.open("rb") as file:
        fields = {"model_id": "scribe_v2", "file": file, "diarize": "true", "num_speakers": "40"}
        detail = scribe_error(post(client, key, fields), 400, "validation")
    assert "less than or equal to 32" in detail["message"] and detail["param"] == "num_speakers"
    assert not Transcript.objects.exists()


def test_a_text_file_is_refused_and_nothing_is_kept(client, key, tmp_path):
    fake = tmp_path / "a.wav"
    fake.write_bytes(b"<html>not audio</html>" * 100)
    with fake.open("rb") as file:
        scribe_error(post(client, key, {"model_id": "scribe_v2", "file": file}), 400, "unsupported_media")
    assert not Transcript.objects.exists()


def test_webhook_mode_answers_at_once_and_remembers_how_to_answer(client, key, user, recording):
    WebhookEndpoint.objects.create(owner=user, url="https://example.com/in")
    with recording.open("rb") as file:
        fields = {
            "model_id": "scribe_v2",
            "file": file,
            "webhook": "true",
            "webhook_metadata": json.dumps({"job": 7}),
            "language_code": "eng",
            "keyterms": ["Verbatim", "Scribe"],
            "tag_audio_events": "false",
            "timestamps_granularity": "character",
            "entity_detection": "null",
            "additional_formats": json.dumps([{"format": "srt"}, {"format": "txt"}]),
        }
        response = post(client, key, fields)
    assert response.status_code == 200, response.content
    ack = response.json()
    assert ack["message"] == "Request accepted. Transcription result will be sent to the webhook."
    assert len(ack["request_id"]) == 32
    transcript = Transcript.objects.get(pk=int(ack["transcription_id"]))
    assert transcript.owner == user and transcript.engine == "local"  # the server's engine, in the library
    options = transcript.options
    assert options["language"] == "en" and options["keyterms"] == ["Verbatim", "Scribe"]
    assert options["tag_audio_events"] is False and options["timestamps_granularity"] == "character"
    remembered = ScribeRequest.objects.get(transcript=transcript)
    assert remembered.webhook and remembered.webhook_metadata == {"job": 7}
    assert [item["format"] for item in remembered.additional_formats] == ["srt", "txt"]


def test_webhook_mode_needs_a_webhook(client, key, recording):
    with recording.open("rb") as file:
        detail = scribe_error(
            post(client, key, {"model_id": "scribe_v2", "file": file, "webhook": "true"}), 400, "webhook_not_configured"
        )
    assert "account page" in detail["message"] and not Transcript.objects.exists()


def test_a_batch_single_use_token_replaces_the_key_once(client, key, user, recording):
    WebhookEndpoint.objects.create(owner=user, url="https://example.com/in")
    token = client.post("/v1/single-use-token/batch_scribe", headers={"xi-api-key": key}).json()["token"]
    assert token.startswith("sutkn_")
    with recording.open("rb") as file:
        first = post(client, None, {"model_id": "scribe_v2", "file": file, "webhook": "true"}, token=token)
    assert first.status_code == 200, first.content
    with recording.open("rb") as file:
        scribe_error(
            post(client, None, {"model_id": "scribe_v2", "file": file, "webhook": "true"}, token=token),
            401,
            "invalid_token",
        )


def test_single_use_token_types(client, key):
    assert client.post("/v1/single-use-token/realtime_scribe", headers={"xi-api-key": key}).status_code == 200
    wrong = client.post("/v1/single-use-token/tts_websocket", headers={"xi-api-key": key})
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["path", "token_type"]
    assert SocketToken.objects.count() == 1


@pytest.fixture
def meeting(user) -> Transcript:
    data = words_from(
        [("speaker_0", "Hello", 0.0, 0.4), ("speaker_0", "there.", 0.5, 0.9), ("speaker_1", "Hi.", 2.0, 2.3)],
    )
    return done_transcript(user, data, title="Call")


def test_a_stored_transcript_in_scribes_shape(client, key, meeting):
    response = client.get(f"{STT}/transcripts/{meeting.pk}", headers={"xi-api-key": key})
    body = response.json()
    assert body["transcription_id"] == str(meeting.pk) and body["text"] == "Hello there. Hi."
    assert body["language_code"] == "eng" and body["audio_duration_secs"] == meeting.duration
    assert [w["text"] for w in body["words"] if w["type"] == "word"] == ["Hello", "there.", "Hi."]
    assert set(body["words"][0]) <= set(scribe_shapes.SCRIBE_WORD_KEYS)


def test_unknown_foreign_and_unfinished_transcripts_are_404(client, key, meeting, other_user):
    other_key = ApiToken.issue(other_user, name="b")[1]
    for transcription_id, who in ((meeting.pk, other_key), ("nJn7Iy1UFLm5T0aEpd7L", key), (10**12, key)):
        detail = scribe_error(
            client.get(f"{STT}/transcripts/{transcription_id}", headers={"xi-api-key": who}), 404, "not_found_error"
        )
        assert detail["message"] == "Transcript not found."
    assert client.delete(f"{STT}/transcripts/{meeting.pk}", headers={"xi-api-key": other_key}).status_code == 404
    assert Transcript.objects.filter(pk=meeting.pk).exists()


def test_delete_removes_it_from_the_library(client, key, meeting):
    assert client.delete(f"{STT}/transcripts/{meeting.pk}", headers={"xi-api-key": key}).status_code == 200
    assert not Transcript.objects.filter(pk=meeting.pk).exists()


def test_a_read_only_key_reads_but_does_not_create_or_delete(client, user, meeting, recording):
    reader = ApiToken.issue(user, name="r", read_only=True)[1]
    assert client.get(f"{STT}/transcripts/{meeting.pk}", headers={"xi-api-key": reader}).status_code == 200
    scribe_error(
        client.delete(f"{STT}/transcripts/{meeting.pk}", headers={"xi-api-key": reader}), 401, "missing_permissions"
    )
    with recording.open("rb") as file:
        scribe_error(post(client, reader, {"model_id": "scribe_v2", "file": file}), 401, "missing_permissions")


def test_additional_formats_and_multichannel_shapes():
    data = words_from(
        [("speaker_0", "Left", 0.0, 0.4), ("speaker_1", "Right", 0.5, 0.9)],
    )
    for word, channel in zip([w for w in data["words"] if w["type"] == "word"], (0, 1), strict=True):
        word["channel_index"] = channel
    formats = [{"format": f} for f in scribe_shapes.SUPPORTED_FORMATS]
    body = scribe_shapes.response(
        data, transcription_id="9", duration=1.0, title="T", multichannel=True, formats=formats
    )
    assert [chunk["channel_index"] for chunk in body["transcripts"]] == [0, 1]
    assert [chunk["text"] for chunk in body["transcripts"]] == ["Left", "Right"]
    by_format = {item["requested_format"]: item for item in body["additional_formats"]}
    assert set(by_format) == set(scribe_shapes.SUPPORTED_FORMATS)
    assert by_format["docx"]["is_base64_encoded"] and not by_format["srt"]["is_base64_encoded"]
    assert "Left" in by_format["srt"]["content"] and json.loads(by_format["segmented_json"]["content"])["segments"]
    combined = scribe_shapes.response(
        data, transcription_id="9", duration=1.0, title="T", multichannel=True, style="combined"
    )
    assert combined["text"] == "Left Right" and "transcripts" not in combined


def test_bad_additional_formats_are_refused(client, key, recording):
    with recording.open("rb") as file:
        fields = {"model_id": "scribe_v2", "file": file, "additional_formats": json.dumps([{"format": "mp3"}])}
        detail = scribe_error(post(client, key, fields), 400, "invalid_additional_format_options")
    assert detail["param"] == "additional_formats"


@pytest.mark.django_db(transaction=True)
def test_a_batch_single_use_token_sent_by_several_requests_at_once_is_accepted_once(key, user, recording) -> None:
    """However many requests carry it at the same moment, one gets through."""
    import threading

    from django.db import connection

    WebhookEndpoint.objects.create(owner=user, url="https://example.com/in")
    token = Client().post("/v1/single-use-token/batch_scribe", headers={"xi-api-key": key}).json()["token"]
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def send() -> None:
        barrier.wait()
        try:
            with recording.open("rb") as file:
                fields = {"model_id": "scribe_v2", "file": file, "webhook": "true"}
                statuses.append(post(Client(), None, fields, token=token).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [200, 401, 401, 401, 401, 401]
    assert Transcript.objects.count() == 1
