"""OpenAI's `POST /v1/audio/transcriptions` in-process: what reaches the
engine. (The official SDK against a real server, every response format, is
tests/api/test_sdk_proofs.py.)"""

from __future__ import annotations

import pytest

from api.models import ApiToken
from tests import support
from transcripts.engines.base import TranscriptionOptions
from transcripts.engines.local import decoding_options
from transcripts.models import Transcript

pytestmark = pytest.mark.django_db
PROMPT = "A stand-up about Kubernetes, Grafana and the Ankara office."


@pytest.fixture
def key(user) -> str:
    return ApiToken.issue(user, name="openai")[1]


@pytest.fixture
def recording():
    return support.speech_file("Prompts give the engine context.")


def transcribe(client, key, recording, **fields):
    with recording.open("rb") as file:
        return client.post(
            "/v1/audio/transcriptions",
            {"file": file, "model": "whisper-1", **fields},
            headers={"Authorization": f"Bearer {key}"},
        )


def test_the_prompt_reaches_the_engine(client, key, recording, settings):
    settings.TASK_TIME_LIMIT_SECONDS = 0  # no worker here: answer at once, with the job still queued
    assert transcribe(client, key, recording, prompt=PROMPT).status_code == 504
    options = TranscriptionOptions.from_dict(Transcript.objects.get().options)
    assert options.prompt == PROMPT
    # The local engine gives it to Whisper as its initial prompt, as OpenAI's Whisper does.
    assert decoding_options(options)["initial_prompt"] == PROMPT
    assert decoding_options(TranscriptionOptions())["initial_prompt"] is None


def test_a_prompt_too_long_is_refused_and_nothing_is_kept(client, key, recording):
    response = transcribe(client, key, recording, prompt="word " * 400)
    assert response.status_code == 400 and response.json()["error"]["param"] == "prompt"
    assert not Transcript.objects.exists()
