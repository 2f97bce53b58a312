"""A throw-away embedded site for benchmarks (not a benchmark itself): its own
data dir, SQLite, the filesystem broker, real Daphne and Celery processes,
and a signed-in HTTP client."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import support  # noqa: E402


class EmbeddedSite:
    def __init__(self, **overrides: str):
        self.data_dir = Path(tempfile.mkdtemp(prefix="verbatim-bench-"))
        self.env = env = support.embedded_env(self.data_dir, **overrides)
        self.processes: list[support.Process] = []
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        self.port = support.free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start_daphne(self) -> support.Process:
        process = support.start_daphne(self.env, self.port)
        self.processes.append(process)
        return process

    def start_worker(self, concurrency: int = 1) -> support.Process:
        process = support.start_worker(self.env, "cpu,default", concurrency=concurrency, name="bench")
        self.processes.append(process)
        return process

    def signed_in_client(self, username: str = "bench") -> httpx.Client:
        client = httpx.Client(base_url=self.base_url, timeout=600, follow_redirects=True)
        form = client.get("/accounts/signup/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        password = "a long benchmark passphrase"
        answer = client.post(
            "/accounts/signup/",
            data={
                "csrfmiddlewaretoken": token,
                "username": username,
                "email": f"{username}@example.com",
                "password1": password,
                "password2": password,
            },
        )
        if "sessionid" not in client.cookies:
            raise RuntimeError("sign-up failed: " + answer.text[:500])
        client.headers.update({"X-CSRFToken": client.cookies["csrftoken"], "Accept": "application/json"})
        return client

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        subprocess.run(["rm", "-rf", str(self.data_dir)], check=False)


def upload(client: httpx.Client, path: Path) -> dict:
    """Streams the file from disk (httpx reads multipart files in chunks)."""
    with path.open("rb") as file:
        response = client.post(
            "/transcripts/upload/file/",
            data={"engine": "local"},
            files={"file": (path.name, file, "application/octet-stream")},
        )
    if response.status_code != 201:
        raise RuntimeError(f"upload refused ({response.status_code}): {response.text[:500]}")
    return response.json()
