"""The embedded mode end to end: `manage.py serve` with no services at all
(SQLite, a filesystem broker, the in-memory channel layer, its own data dir)
takes a sign-up, an upload and a transcription, and pushes progress over the
job WebSocket by watching the database."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests import support, web
from tests.media_corpus import SENTENCE

pytestmark = pytest.mark.slow


@pytest.fixture
def embedded_site(tmp_path):
    env = support.embedded_env(tmp_path / "data")
    (tmp_path / "data").mkdir()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=support.ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    port = support.free_port()
    server = support.Process([sys.executable, "manage.py", "serve", "--port", str(port)], env, "serve")
    base_url = f"http://127.0.0.1:{port}"
    try:
        support.wait_for_http(base_url + "/", timeout=60)
        yield base_url, server
    finally:
        server.stop(timeout=5)  # then SIGKILL to the group: nothing left to save


def csrf_of(client: httpx.Client, html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_embedded_site_signs_up_uploads_transcribes_and_pushes_progress(embedded_site, speech):
    base_url, server = embedded_site
    with httpx.Client(base_url=base_url, timeout=60, follow_redirects=True) as http:
        form = http.get("/accounts/signup/").text
        answer = http.post(
            "/accounts/signup/",
            data={
                "csrfmiddlewaretoken": csrf_of(http, form),
                "username": "carol",
                "email": "carol@example.com",
                "password1": "a long and unusual passphrase",
                "password2": "a long and unusual passphrase",
            },
        )
        assert answer.url.path == "/transcripts/upload/", answer.text[:2000]
        session = http.cookies["sessionid"]
        socket = web.JobSocket(base_url, session)

        path = speech(SENTENCE + " " + SENTENCE)
        with path.open("rb") as file:
            created = http.post(
                "/transcripts/upload/file/",
                data={"engine": "local"},
                files={"file": (path.name, file)},
                headers={"X-CSRFToken": http.cookies["csrftoken"], "Accept": "application/json"},
            )
        assert created.status_code == 201, created.text
        job = created.json()

        def done() -> dict | None:
            status = http.get(f"/transcripts/{job['id']}/status/").json()
            return status if status["status"] in ("done", "failed") else None

        final = support.wait_until(done, 180, interval=0.5, message="the embedded job to finish")
        assert final["status"] == "done", final["error"] + server.output()[-3000:]
        page = http.get(job["url"]).text.lower()
        assert web.words_found(SENTENCE, re.sub(r"<[^>]+>", " ", page)) >= 0.6

        support.wait_until(
            lambda: any(m["status"] == "done" for m in socket.messages), 15, message="the socket to report done"
        )
        socket.close()
    mine = [message for message in socket.messages if message["id"] == job["id"]]
    assert {"done"} < {message["status"] for message in mine}, mine
    assert all(message["url"] == job["url"] for message in mine)
    data_dir = Path(server.log_path).parent
    assert (data_dir / "verbatim.sqlite3").exists()
    assert list((data_dir / "media" / "media").rglob("*.wav"))
