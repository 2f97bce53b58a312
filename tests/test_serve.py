"""`manage.py serve` (what `make run` starts) as a real process: the
embedded site is not a debug server, and the command supervises its
children (web, workers, beat)."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests import support

pytestmark = pytest.mark.slow


def migrated_embedded_env(data_dir, **overrides: str) -> dict[str, str]:
    env = support.embedded_env(data_dir, **overrides)
    data_dir.mkdir(exist_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=support.ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    return env


def start_serve(env: dict[str, str], *extra: str) -> tuple[str, support.Process]:
    port = support.free_port()
    server = support.Process([sys.executable, "manage.py", "serve", "--port", str(port), *extra], env, f"serve-{port}")
    base_url = f"http://127.0.0.1:{port}"
    support.wait_for_http(base_url + "/", timeout=60)
    return base_url, server


def test_the_embedded_site_is_not_a_debug_server(tmp_path):
    env = migrated_embedded_env(tmp_path / "data")
    base_url, server = start_serve(env, "--no-worker")
    try:
        missing = httpx.get(base_url + "/no/such/page/")
        assert missing.status_code == 404
        assert "Page not found" in missing.text
        assert "URLconf" not in missing.text  # Django's technical 404 lists every URL
        home = httpx.get(base_url + "/")
        assert home.status_code == 200
        stylesheet = httpx.get(base_url + "/static/css/app.css")  # served with nothing collected
        assert stylesheet.status_code == 200
        assert stylesheet.headers["content-type"].startswith("text/css")
        assert "Set-Cookie" not in home.headers or "Secure" not in home.headers["Set-Cookie"]  # plain HTTP works
    finally:
        server.stop(timeout=10)
    assert (tmp_path / "data" / "secret_key").exists()
