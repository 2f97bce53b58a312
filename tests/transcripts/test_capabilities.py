"""Honest options: each engine declares what it can honour, the upload and
live pages offer exactly that, and the server refuses anything else with a
message, whatever the client sent, leaving nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.urls import reverse

from api.models import ApiToken
from realtime.models import LiveSession
from tests import support
from tests.api.conftest import bearer
from tests.realtime.live_support import IN_MEMORY_LAYER, InProcessSocket, session_cookie
from transcripts import languages
from transcripts.engines.registry import capabilities
from transcripts.models import Media, Transcript

pytestmark = pytest.mark.django_db


@pytest.fixture
def recording() -> Path:
    return support.speech_file("The quarterly numbers look good this time.")


@pytest.fixture
def with_scribe(settings):
    settings.ELEVENLABS_API_KEY = "test-key"  # never called: only the options are looked at
    settings.DEFAULT_ENGINE = "local"


def page_capabilities(response) -> dict:
    html = response.content.decode()
    start = html.index('id="engine-capabilities"')
    body = html[html.index(">", start) + 1 : html.index("</script>", start)]
    return json.loads(body)


def offered_languages(response) -> list[str]:
    form = response.context["form"]
    return [code for code, _ in form.fields["language"].choices]


def stored_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(path) for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def post_upload(client, path: Path, **fields):
    with path.open("rb") as file:
        return client.post(reverse("transcripts:upload"), {"file": file, **fields})


def test_the_upload_page_offers_each_engine_exactly_its_capabilities(auth_client, with_scribe):
    response = auth_client.get(reverse("transcripts:upload_page"))
    offers = page_capabilities(response)
    assert set(offers) == {"local", "scribe"}
    assert offers["local"] == capabilities("local").to_dict()
    assert offers["scribe"] == capabilities("scribe").to_dict()
    # The bundled tiny.en: English only, nothing to detect, no audio events.
    assert offers["local"]["languages"] == ["en"] and not offers["local"]["detects_language"]
    assert not offers["local"]["audio_events"] and offers["scribe"]["audio_events"]
    # The select holds every language some engine offers; the script narrows it per engine.
    assert set(offered_languages(response)) == {"", *offers["scribe"]["languages"]}
    # The default engine (local) does not tag audio events: the box starts unticked.
    assert not response.context["form"].fields["tag_audio_events"].initial


def test_the_local_engine_offers_speakers_only_with_the_extra(auth_client, settings):
    settings.LOCAL_SPEAKERS = "off"
    assert page_capabilities(auth_client.get(reverse("transcripts:upload_page")))["local"]["diarization"] is False
    settings.LOCAL_SPEAKERS = "auto"
    from transcripts.engines import speakers

    offered = page_capabilities(auth_client.get(reverse("transcripts:upload_page")))["local"]["diarization"]
    assert offered is speakers.installed()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"language": "fr"}, "language", "cannot transcribe French on this server (it knows only English)"),
        ({"tag_audio_events": "on"}, "tag_audio_events", "does not tag audio events"),
        ({"diarize": "on", "num_speakers": "2"}, "diarize", "cannot identify speakers on this server"),
    ],
)
def test_a_forged_upload_with_an_option_the_engine_cannot_honour_is_refused(
    auth_client, settings, recording, fields, field, message
):
    settings.LOCAL_SPEAKERS = "off"
    before = stored_files()
    response = post_upload(auth_client, recording, engine="local", **fields)
    assert response.status_code == 400
    body = response.json()
    assert message in body["error"] and field in body["fields"]
    assert body["error"].startswith("Local (offline)")
    assert not Transcript.objects.exists() and not Media.objects.exists()
    assert stored_files() == before


def test_a_job_without_a_language_on_an_english_only_model_is_english(
    auth_client, recording, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = post_upload(auth_client, recording, engine="local")
    assert response.status_code == 201, response.content
    assert Transcript.objects.get().options["language"] == "en"


def test_the_same_options_are_taken_by_scribe(auth_client, with_scribe, recording, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = post_upload(
            auth_client, recording, engine="scribe", language="fr", tag_audio_events="on", diarize="on"
        )
    assert response.status_code == 201, response.content
    options = Transcript.objects.get().options
    assert options["language"] == "fr" and options["tag_audio_events"] and options["diarize"]


def test_an_unknown_language_code_is_not_a_choice(auth_client, with_scribe, recording):
    response = post_upload(auth_client, recording, engine="scribe", language="xx")
    assert response.status_code == 400 and "language" in response.json()["fields"]


def test_the_api_refuses_what_the_engine_cannot_honour(settings, user, recording):
    settings.LOCAL_SPEAKERS = "off"
    api = bearer(ApiToken.issue(user, name="script")[1])
    with recording.open("rb") as file:
        response = api.post(
            "/api/v1/transcripts", {"file": file, "engine": "local", "diarize": "true"}, format="multipart"
        )
    assert response.status_code == 400
    assert "cannot identify speakers" in response.json()["detail"]
    assert not Transcript.objects.exists()


def test_a_resumable_upload_with_an_unsupported_option_is_refused_at_creation(auth_client):
    import base64

    def meta(value: str) -> str:
        return base64.b64encode(value.encode()).decode()

    metadata = f"filename {meta('a.wav')},engine {meta('local')},language {meta('de')}"
    response = auth_client.post(
        reverse("transcripts:tus"),
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": "1000", "Upload-Metadata": metadata},
    )
    assert response.status_code == 400
    assert "cannot transcribe German" in response.content.decode()


def test_the_live_page_offers_the_languages_of_each_engine(auth_client, with_scribe):
    response = auth_client.get(reverse("realtime:live"))
    offers = page_capabilities(response)
    assert offers["local"]["languages"] == ["en"]
    html = response.content.decode()
    assert '<select name="language" id="live-language">' in html
    assert f'<option value="fr">{languages.name("fr")}</option>' in html


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_live_socket_in_a_language_the_model_lacks_is_refused_with_a_message(settings, user):
    settings.CHANNEL_LAYERS = IN_MEMORY_LAYER
    cookie = await sync_to_async(session_cookie)(user)
    async with InProcessSocket("/ws/live/?engine=local&language=fr", cookie) as socket:
        error = await socket.wait_for("error", code="unsupported_language")
        assert await socket.wait_closed() == 4429
    assert "cannot transcribe French" in error["message"]
    assert await LiveSession.objects.acount() == 0
