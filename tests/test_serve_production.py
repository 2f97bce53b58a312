"""`make serve-production` (`manage.py serve --production`) as a real process
on Postgres and Redis with DEBUG off: it migrates, collects the static
files and runs web, workers and one beat; behind a trusted proxy the login
lockout counts each person by the address the proxy reports, while a
forged X-Forwarded-For from anyone else changes nothing."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest

from tests import support
from tests.test_production_load import production_env
from tests.test_serve import SMALL, wait_for_children

pytestmark = pytest.mark.slow

FAILURE_LIMIT = 3
CSRF = "x" * 32  # any 32-character secret is a valid token when cookie and field agree


@pytest.fixture
def production_serve(transactional_db, tmp_path):
    env = production_env(
        STATIC_ROOT=str(tmp_path / "static"),
        TRUSTED_PROXIES="127.0.0.1",
        LOGIN_FAILURE_LIMIT=str(FAILURE_LIMIT),
        **SMALL,
    )
    env["DATA_DIR"] = str(tmp_path)
    port = support.free_port()
    server = support.Process(
        [sys.executable, "manage.py", "serve", "--production", "--port", str(port)], env, "serve-production"
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        support.wait_for_http(base_url + "/", timeout=120)
        yield base_url, server
    finally:
        server.stop(timeout=30)


def login_attempts(base_url: str, attempts: list[tuple[str, str]], *, source: str = "127.0.0.1") -> list[int]:
    """(username, X-Forwarded-For) per attempt, from the local address `source`."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=base_url, transport=transport, cookies={"csrftoken": CSRF}, timeout=30) as http:
        return [
            http.post(
                "/accounts/login/",
                data={"csrfmiddlewaretoken": CSRF, "username": username, "password": "wrong"},
                headers={"X-Forwarded-For": forwarded_for},
            ).status_code
            for username, forwarded_for in attempts
        ]


def test_serve_production_runs_the_site_and_believes_only_its_proxy(production_serve):
    base_url, server = production_serve
    assert set(wait_for_children(server, "web", "worker-cpu", "worker-io", "beat")) == {
        "web",
        "worker-cpu",
        "worker-io",
        "beat",
    }
    page = httpx.get(base_url + "/accounts/login/")
    assert page.status_code == 200
    # Static files were collected: hashed names, served with a far-future expiry.
    stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]+\.css)"', page.text)
    assert stylesheet, page.text[:1000]
    css = httpx.get(base_url + stylesheet.group(1))
    assert css.status_code == 200
    assert "immutable" in css.headers.get("cache-control", "")

    # Through the trusted proxy: each person is counted by the address it reports.
    first_person = [(f"guess{n}", "198.51.100.1") for n in range(FAILURE_LIMIT)]
    assert login_attempts(base_url, first_person) == [200] * (FAILURE_LIMIT - 1) + [429]
    assert login_attempts(base_url, [("guess-other", "198.51.100.2")]) == [200]  # someone else behind it

    # Straight from an untrusted peer: a new forged address each time changes nothing.
    forged = [(f"probe{n}", f"203.0.113.{n}") for n in range(FAILURE_LIMIT + 1)]
    assert login_attempts(base_url, forged, source="127.0.0.2") == [200] * (FAILURE_LIMIT - 1) + [429, 429]
    assert server.popen.poll() is None


def test_serve_production_refuses_the_embedded_settings(tmp_path):
    env = support.embedded_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "serve", "--production"],
        cwd=support.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DATABASE_URL must name the PostgreSQL database" in result.stderr
    assert "REDIS_URL must name the Redis server" in result.stderr
    assert "Nothing was started" not in result.stderr  # refused before migrating
