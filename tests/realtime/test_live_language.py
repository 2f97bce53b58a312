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


def test_live_key_terms_reach_scribe_as_repeated_parameters(settings):
    settings.ELEVENLABS_BASE_URL = "http://127.0.0.1:9"
    query = parse_qs(urlsplit(realtime_url("token", "en", ("Verbatim", "Ada Lovelace"))).query)
    assert query["keyterms"] == ["Verbatim", "Ada Lovelace"]


def test_the_live_socket_reads_key_terms_like_the_upload_page():
    from realtime.live import live_options

    options = live_options({"query_string": b"engine=scribe&keyterms=Verbatim,%20Ada%20Lovelace"})
    assert options.keyterms == ("Verbatim", "Ada Lovelace")
    # A term Scribe would refuse is dropped, the rest kept.
    options = live_options({"query_string": b"engine=scribe&keyterms=ok,bad%7Bterm%7D"})
    assert options.keyterms == ("ok",)


def test_the_fake_checks_live_key_terms():
    from tests.fakes.scribe_realtime import validate_keyterms

    assert validate_keyterms(["Verbatim"]) is None
    assert validate_keyterms(["one two three four five six"]) and validate_keyterms(["x" * 50])
