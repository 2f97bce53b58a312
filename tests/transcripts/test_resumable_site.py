"""Resumable uploads against a real Daphne: a Python tus client (tuspy)
uploads in pieces and the worker transcribes the file; a piece over the
limit is refused while it arrives; and no request body, big or small, is
ever spooled to the system temp directory (Twisted's and Django's spools go
under DATA_DIR, and a piece of a resumable upload is spooled nowhere)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from tusclient import client as tus_client

from tests import media_corpus as corpus
from tests import web
from transcripts.models import Transcript

pytestmark = pytest.mark.slow


def tus_headers(session: str) -> dict[str, str]:
    token = "x" * 32  # any 32 characters: a CSRF token when cookie and header agree
    return {
        "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={token}",
        "X-CSRFToken": token,
    }


def test_a_python_tus_client_uploads_in_pieces_and_gets_a_transcript(make_site, tmp_path):
    site = make_site(UPLOAD_CHUNK_SIZE="64KiB")
    user = get_user_model().objects.create_user("tess", "tess@example.com", "a long and unusual passphrase")
    recording = corpus.speech_wav()
    client = tus_client.TusClient(site.base_url + "/transcripts/tus/", headers=tus_headers(web.session_cookie(user)))
    uploader = client.uploader(
        str(recording), chunk_size=64 * 1024, metadata={"filename": "Fox.wav", "engine": "local", "language": "en"}
    )
    uploader.upload()
    assert uploader.offset == recording.stat().st_size
    assert uploader.request.status_code == 204  # tuspy's last request: the final piece
    location = uploader.request.response_headers["transcript-location"]
    transcript = web.wait_for_status(int(location.strip("/").rsplit("/", 1)[1]), "done")
    assert transcript.owner == user and transcript.title == "Fox"
    assert "lazy dog" in transcript.result.text.lower()


def test_a_piece_over_the_limit_is_refused_while_it_arrives(make_site):
    site = make_site(worker=False, UPLOAD_CHUNK_SIZE="256KiB")
    user = get_user_model().objects.create_user("tess", "tess@example.com", "a long and unusual passphrase")
    headers = {**tus_headers(web.session_cookie(user)), "Tus-Resumable": "1.0.0"}
    created = httpx.post(site.base_url + "/transcripts/tus/", headers={**headers, "Upload-Length": "10000000"})
    assert created.status_code == 201
    piece = {**headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    response = httpx.patch(created.headers["Location"], headers=piece, content=b"\0" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["error"] == "A piece of a resumable upload is at most 262 KB."


def spooled_in(pid: int, directory: Path) -> set[str]:
    """Files the process has open in `directory` (a spool is deleted as soon
    as it is made, so only its open descriptor shows)."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(directory)):
            found.add(target)
    return found


def slowly(data: bytes, piece: int = 256 * 1024, pause: float = 0.02):
    for start in range(0, len(data), piece):
        yield data[start : start + piece]
        time.sleep(pause)


def test_no_request_body_is_spooled_in_the_system_temp_directory(make_site, tmp_path):
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    site = make_site(worker=False, TMPDIR=str(system_temp), UPLOAD_CHUNK_SIZE="4MiB")
    daphne = site.processes[0].popen.pid
    data_tmp = Path(settings.FILE_UPLOAD_TEMP_DIR)
    user = get_user_model().objects.create_user("tess", "tess@example.com", "a long and unusual passphrase")
    session = web.session_cookie(user)
    seen: dict[str, set[str]] = {"system": set(), "data": set()}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen["system"] |= spooled_in(daphne, system_temp)
            seen["data"] |= spooled_in(daphne, data_tmp)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        big = corpus.silent_wav(120)  # 3.8 MB in one request: spooled, under DATA_DIR
        with web.signed_in(site.base_url, session) as http:
            multipart = httpx.Request("POST", "/", files={"file": ("quiet.wav", big)}, data={"engine": "local"})
            body = multipart.read()
            response = http.post(
                web.UPLOAD_PATH,
                content=slowly(body),
                headers={"Content-Type": multipart.headers["Content-Type"], "Content-Length": str(len(body))},
            )
            assert response.status_code == 201, response.text
            spooled_by_the_old_path = set(seen["data"])
            headers = {"Tus-Resumable": "1.0.0", "Upload-Length": str(len(big))}
            location = http.post("/transcripts/tus/", headers=headers).headers["Location"]
            piece = {"Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
            response = http.patch(location, headers=piece, content=slowly(big[: 4 * 1024 * 1024 - 1]))
            assert response.status_code == 204, response.text
    finally:
        done.set()
        watcher.join()
    assert seen["system"] == set()
    assert spooled_by_the_old_path  # the single-request path spools, under DATA_DIR
    assert seen["data"] == spooled_by_the_old_path  # a resumable piece is spooled nowhere
    assert Transcript.objects.count() == 2  # each path made its transcript
