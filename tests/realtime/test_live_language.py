"""Live sessions in "auto" store the language actually detected, in the same
standard form as batch jobs; the Scribe upstream asks for detection."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from realtime import services
from realtime.recording import RecordingWriter
from realtime.upstreams.scribe import realtime_url

pytestmark = pytest.mark.django_db


def ended_session(user, *, language: str, detected: list[str]):
    session = services.start_session(user, engine="scribe", language=language)
    writer = RecordingWriter(session.recording_name)
    writer.write(b"\x00\x00" * 16000)
    writer.close()
    for index, code in enumerate(detected):
        services.append_segment(session.pk, index, f"segment {index}", None, index, index + 1.0, language=code)
    return services.end_session(session.pk)


def test_auto_stores_the_language_detected(user):
    transcript = ended_session(user, language="", detected=["fra", "fr", "eng"])
    assert transcript.language_code == "fr"
    assert transcript.result.data["language_code"] == "fr"


def test_nothing_detected_is_stored_as_unknown_not_english(user):
    assert ended_session(user, language="", detected=["", ""]).language_code == ""


def test_a_chosen_language_is_stored_normalised(user):
    assert ended_session(user, language="de", detected=[]).language_code == "de"


def test_auto_asks_scribe_to_detect_the_language(settings):
    settings.ELEVENLABS_BASE_URL = "http://127.0.0.1:9"
    query = parse_qs(urlsplit(realtime_url("token", "")).query)
    assert query["include_language_detection"] == ["true"] and "language_code" not in query
    chosen = parse_qs(urlsplit(realtime_url("token", "es")).query)
    assert chosen["language_code"] == ["es"] and "include_language_detection" not in chosen
