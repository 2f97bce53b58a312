"""A hung or unreachable database: requests fail fast with a friendly 503
(a page for browsers, problem details for the API) instead of hanging for
minutes, and /healthz reports the database, the broker and storage without
sign-in (200 when all are fine, 503 otherwise)."""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time

import httpx
import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory

from project import health, outage
from tests import support


@pytest.mark.django_db(transaction=True)
def test_healthz_is_200_when_everything_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "storage": "ok"}}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_healthz_answers_a_probe_by_ip_over_plain_http(settings):
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/healthz", HTTP_HOST="10.0.0.5:8000")
    assert response.status_code == 200, response.content


def test_a_hung_check_times_out_and_a_failing_one_is_an_error():
    def hang():
        time.sleep(5)

    def fail():
        raise ConnectionError("refused")

    results = health.run_checks({"database": hang, "broker": fail, "storage": lambda: None}, deadline=0.5)
    assert results == {"database": "timeout", "broker": "error", "storage": "ok"}


@pytest.mark.parametrize(
    ("path", "accept", "content_type", "message"),
    [
        ("/transcripts/", "text/html", "text/html", "database is not answering"),
        ("/transcripts/1/edit/words/", "application/json", "application/json", "database is not answering"),
        ("/api/v1/me", "*/*", "application/problem+json", "database is not answering"),
    ],
)
def test_a_database_error_is_a_503_in_the_shape_the_client_reads(path, accept, content_type, message):
    request = RequestFactory().get(path, HTTP_ACCEPT=accept)
    try:
        raise OperationalError("connection timeout expired")
    except OperationalError:
        response = outage.server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith(content_type)
    assert message in response.content.decode()


def test_any_other_error_is_a_friendly_500():
    request = RequestFactory().get("/transcripts/")
    try:
        raise KeyError("bug")
    except KeyError:
        response = outage.server_error(request)
    assert response.status_code == 500
    assert "went wrong on our side" in response.content.decode()


class HungServer:
    """Accepts connections and never says a word (a database that hangs)."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.held.append(self.listener.accept()[0])

    def close(self) -> None:
        for sock in [self.listener, *self.held]:
            sock.close()


def closed_port() -> int:
    return support.free_port()  # nothing listens there: connections are refused


def production_env(database_port: int, data_dir) -> dict[str, str]:
    from django.conf import settings

    return support.process_env(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{database_port}/verbatim",
        REDIS_URL=settings.REDIS_URL,
        DATA_DIR=str(data_dir),
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        SECURE_SSL_REDIRECT="false",
    )


@pytest.mark.slow
@pytest.mark.parametrize("database", ["hung", "refusing"])
def test_an_unreachable_database_fails_fast_with_503s(tmp_path, database):
    hung = HungServer() if database == "hung" else None
    port = support.free_port()
    daphne = support.start_daphne(production_env(hung.port if hung else closed_port(), tmp_path), port)
    try:
        # A client that would wait for minutes: the server must answer first.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            page = http.get("/transcripts/", headers={"Accept": "text/html", "Cookie": "sessionid=" + "x" * 32})
            assert page.status_code == 503, page.text
            assert "database is not answering" in page.text and "<html" in page.text
            assert page.headers["Retry-After"]
            api = http.get("/api/v1/me", headers={"Authorization": "Bearer vb_not_checked_without_a_database"})
            assert api.status_code == 503, api.text
            assert api.headers["Content-Type"] == "application/problem+json"
            assert api.json()["code"] == "database_unavailable"
            started = time.monotonic()
            healthz = http.get("/healthz")
            took = time.monotonic() - started
        assert healthz.status_code == 503
        assert healthz.json()["checks"] == {"database": "timeout", "broker": "ok", "storage": "ok"}
        print(f"/healthz answered in {took:.1f} s")  # within its 3 s deadline
    finally:
        daphne.stop()
        if hung:
            hung.close()
