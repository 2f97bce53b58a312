"""Which model the local engine runs and what follows from it: a model named
but not fetched is a clear error (nothing is downloaded at request time); a
multilingual model offers its languages and "detect", and a job stores the
language it detected with its probability; the device and compute type."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests import support
from tests.models import as_fetched
from transcripts.engines import EngineJob, PermanentEngineError, TranscriptionOptions, whisper_models
from transcripts.engines.local import LocalEngine
from transcripts.engines.registry import capabilities

ENGLISH = "Please remember to water the garden every evening."
FRENCH = "Bonjour à tous, merci d'être venus à la réunion de ce matin."


def transcribe(path, **options) -> dict:
    job = EngineJob(
        transcript_id=0,
        media_path=str(path),
        media_name="",
        duration=5.0,
        channels=1,
        options=TranscriptionOptions(**options),
    )
    return LocalEngine().transcribe(job).transcript


@pytest.fixture
def multilingual(settings, data_dir):
    settings.LOCAL_STT_MODEL = as_fetched(data_dir, "base")
    return settings.LOCAL_STT_MODEL


def test_a_model_named_but_not_fetched_is_a_clear_error_not_a_download(settings, speech):
    settings.LOCAL_STT_MODEL = "small"
    with pytest.raises(PermanentEngineError, match=r"fetch_model small"):
        transcribe(speech(ENGLISH))
    assert capabilities("local").languages == ()


def test_a_model_directory_that_is_not_one_is_named_in_the_error(settings, tmp_path):
    settings.LOCAL_STT_MODEL = str(tmp_path)
    with pytest.raises(PermanentEngineError, match=str(tmp_path)):
        whisper_models.model_dir()


def test_the_bundled_model_offers_english_only(settings):
    settings.LOCAL_STT_MODEL = ""
    offers = capabilities("local")
    assert offers.languages == ("en",) and not offers.detects_language


def test_a_multilingual_model_offers_its_languages_and_detection(multilingual, auth_client):
    offers = capabilities("local")
    assert offers.detects_language and {"en", "fr", "de", "ja", "cy"} <= set(offers.languages)
    page = auth_client.get(reverse("transcripts:upload_page"))
    codes = [code for code, _ in page.context["form"].fields["language"].choices]
    assert codes[0] == "" and "cy" in codes  # Welsh: beyond Scribe's list, offered by the model


@pytest.mark.django_db
def test_french_with_a_multilingual_model_is_taken(multilingual, auth_client, speech):
    with speech(FRENCH).open("rb") as file:
        response = auth_client.post(reverse("transcripts:upload"), {"file": file, "engine": "local", "language": "fr"})
    assert response.status_code == 201, response.content


def test_the_detected_language_and_its_probability_are_stored(multilingual):
    french = support.speech_file(FRENCH, voice="fr")
    transcript = transcribe(french)
    assert transcript["language_code"] == "fr" and transcript["language_probability"] > 0.5
    english = transcribe(support.speech_file(ENGLISH))
    assert english["language_code"] == "en" and english["language_probability"] > 0.5
    asked = transcribe(french, language="fr")
    assert asked["language_code"] == "fr" and asked["language_probability"] == 1.0


def test_the_compute_type_follows_the_device(settings):
    settings.LOCAL_STT_COMPUTE_TYPE = "auto"
    assert whisper_models.compute_type("cpu") == "int8"
    assert whisper_models.compute_type("cuda") == "float16"
    settings.LOCAL_STT_COMPUTE_TYPE = "int8_float16"
    assert whisper_models.compute_type("cuda") == "int8_float16"


def test_auto_is_the_cpu_on_a_machine_without_a_gpu(settings):
    settings.LOCAL_STT_DEVICE = "auto"
    assert whisper_models.device() == ("cuda" if whisper_models.cuda_devices() else "cpu")
    settings.LOCAL_STT_DEVICE = "cpu"
    assert whisper_models.device() == "cpu"


def test_the_batched_pipeline_gives_the_same_words(settings, speech):
    path = speech(ENGLISH)
    sequential = [w["text"] for w in transcribe(path)["words"] if w["type"] == "word"]
    settings.LOCAL_STT_BATCH_SIZE = 4
    batched = [w["text"] for w in transcribe(path)["words"] if w["type"] == "word"]
    assert support.word_error_rate(" ".join(sequential), " ".join(batched)) < 0.1


def test_fetch_model_refuses_a_name_it_does_not_know(data_dir):
    with pytest.raises(CommandError, match="Unknown model"):
        call_command("fetch_model", "enormous-v9")
    assert not (data_dir / "models" / "enormous-v9").exists()


def test_fetch_model_keeps_a_model_already_there(multilingual, capsys):
    call_command("fetch_model", "base")  # no download: it is there
    out = capsys.readouterr().out
    assert "LOCAL_STT_MODEL=base" in out and "100 languages" in out


@pytest.mark.slow
def test_fetch_model_that_cannot_download_says_so_and_leaves_nothing(tmp_path):
    """The command, as an operator runs it, against a model hub that is not
    there (a closed port on loopback): a clear error, no model directory."""
    import subprocess
    import sys

    env = support.process_env(
        DATA_DIR=str(tmp_path), HF_ENDPOINT=f"http://127.0.0.1:{support.free_port()}", HF_HUB_ETAG_TIMEOUT="2"
    )
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "fetch_model", "tiny"],
        cwd=support.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Could not download “tiny” (is this host online?)" in result.stderr
    models = tmp_path / "models"
    assert not models.exists() or not any(models.iterdir())  # no model, no half-written one
