"""The media stream: HTTP range requests so players can seek in long files."""

from __future__ import annotations

import asyncio
import warnings

import pytest
from django.core.handlers.asgi import ASGIHandler

from tests.transcripts.factories import done_transcript, sentence_data, stored_media
from transcripts.media.streaming import Unsatisfiable, parse_range


@pytest.fixture
def recording(speech):
    return speech("The quick brown fox jumps over the lazy dog.")


@pytest.fixture
def transcript(user, recording):
    return done_transcript(user, sentence_data("the quick brown fox"), media=stored_media(user, recording))


@pytest.mark.parametrize(
    "header,expected",
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=0-0", (0, 0)),
        ("", None),
        ("items=0-1", None),
        ("bytes=0-1,5-6", None),
        ("bytes=-", None),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-2", "bytes=-0"])
def test_unsatisfiable_ranges(header):
    with pytest.raises(Unsatisfiable):
        parse_range(header, 1000)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.django_db
def test_whole_file_and_ranges(auth_client, transcript, recording):
    content = recording.read_bytes()
    url = f"/transcripts/{transcript.pk}/media/"
    whole = auth_client.get(url)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Type"] == "audio/wav" or whole["Content-Type"].startswith("audio/")
    assert body(whole) == content and int(whole["Content-Length"]) == len(content)
    part = auth_client.get(url, HTTP_RANGE="bytes=100-1099")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-1099/{len(content)}"
    assert part["Content-Length"] == "1000" and body(part) == content[100:1100]
    tail = auth_client.get(url, HTTP_RANGE="bytes=-500")
    assert body(tail) == content[-500:]
    beyond = auth_client.get(url, HTTP_RANGE=f"bytes={len(content)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(content)}"


@pytest.mark.django_db
def test_another_users_media_is_404(client, other_user, transcript):
    client.force_login(other_user)
    assert client.get(f"/transcripts/{transcript.pk}/media/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_under_asgi_the_range_is_streamed_in_chunks(user, transcript, recording, monkeypatch):
    """Through Django's ASGI handler the body arrives in several chunks (an
    async iterator), not read whole into memory first."""
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    monkeypatch.setattr("transcripts.media.streaming.CHUNK_BYTES", 4096)
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    content = recording.read_bytes()
    scope = {
        "type": "http",
        "method": "GET",
        "path": f"/transcripts/{transcript.pk}/media/",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"range", b"bytes=1000-30999"),
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session.session_key}".encode()),
        ],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
        "scheme": "http",
        "asgi": {"version": "3.0"},
    }
    messages = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client stays connected

    async def send(message):
        messages.append(message)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(ASGIHandler()(scope, receive, send))
    # Django warns when it has to read a sync iterator whole before sending it.
    assert not [w for w in caught if "iterator" in str(w.message)]
    start = messages[0]
    assert start["status"] == 206
    chunks = [m["body"] for m in messages[1:] if m.get("body")]
    assert len(chunks) >= 7
    assert b"".join(chunks) == content[1000:31000]
