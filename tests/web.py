"""Talking to a real site (Daphne started by `make_site` or `manage.py serve`)
as a signed-in user: HTTP with the session and CSRF cookies, the job
WebSocket, and waiting for a job's state in the database."""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path

import httpx
from django.conf import settings
from django.test import Client
from django.utils.crypto import get_random_string

from tests import support
from transcripts.models import Transcript

UPLOAD_PATH = "/transcripts/upload/file/"


def session_cookie(user) -> str:
    """A real session row for `user` (the sites share the test database)."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def signed_in(base_url: str, session: str, timeout: float = 120) -> httpx.Client:
    # Any 32-character secret is a valid CSRF token when cookie and header agree.
    token = get_random_string(32)
    return httpx.Client(
        base_url=base_url,
        timeout=timeout,
        cookies={settings.SESSION_COOKIE_NAME: session, settings.CSRF_COOKIE_NAME: token},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )


def upload(http: httpx.Client, path: Path, engine: str = "local", **fields: str) -> dict:
    with path.open("rb") as file:
        response = http.post(UPLOAD_PATH, data={"engine": engine, **fields}, files={"file": (path.name, file)})
    assert response.status_code == 201, response.text
    return response.json()


def wait_for_status(pk: int, *statuses: str, timeout: float = 120) -> Transcript:
    def reached():
        transcript = Transcript.objects.get(pk=pk)
        return transcript if transcript.status in statuses else None

    return support.wait_until(reached, timeout, message=f"transcript {pk} in {statuses}")


def words_found(expected: str, heard: str) -> float:
    """Share of the expected words that appear in what was heard."""

    def normalise(text: str) -> list[str]:
        return ["".join(c for c in word.lower() if c.isalnum()) for word in text.split()]

    wanted = [word for word in normalise(expected) if word]
    got = set(normalise(heard))
    return sum(word in got for word in wanted) / len(wanted)


class JobSocket:
    """A /ws/jobs/ connection read in a background thread; `messages` collects what arrives."""

    def __init__(self, base_url: str, session: str | None):
        from websockets.sync.client import connect

        headers = {"Origin": base_url}
        if session:
            headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={session}"
        self.messages: list[dict] = []
        self.closed_code: int | None = None
        self._connect = connect(
            base_url.replace("http", "ws", 1) + "/ws/jobs/", additional_headers=headers, open_timeout=10
        )
        self.connection = self._connect.__enter__()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                self.messages.append(json.loads(self.connection.recv()))
        except ConnectionClosed:
            pass
        self.closed_code = self.connection.close_code or 1000

    def close(self) -> None:
        self.connection.close()
        self.thread.join(5)


TUS_PATH = "/transcripts/tus/"


def tus_metadata(**values: str) -> str:
    """An Upload-Metadata header: `key base64(value)` pairs."""
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def tus_upload(http: httpx.Client, path: Path, piece: int = 1024 * 1024, engine: str = "local", **fields: str) -> int:
    """Upload `path` through the resumable endpoint in pieces; the new transcript's id."""
    data = path.read_bytes()
    encoded = tus_metadata(filename=path.name, engine=engine, **fields)
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)), "Upload-Metadata": encoded}
    created = http.post(TUS_PATH, headers=headers)
    assert created.status_code == 201, created.text
    location, offset = created.headers["Location"], 0
    while offset < len(data):
        piece_headers = {
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        }
        response = http.patch(location, headers=piece_headers, content=data[offset : offset + piece])
        assert response.status_code == 204, response.text
        offset = int(response.headers["Upload-Offset"])
    return int(response.headers["Transcript-Location"].strip("/").rsplit("/", 1)[1])
