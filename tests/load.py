"""A load of signed-in people on a running site, and a watch on the
database connections it holds. Used by the production-mode load test and by
bench/site_load.py (which reports the latencies this collects)."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from django.conf import settings

UPLOAD_EVERY = 6  # one request in this many (per client) is an upload


@dataclass
class Visitor:
    """One signed-in person: their session cookie and a transcript of theirs."""

    session: str
    transcript_id: int


@dataclass
class LoadResult:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(len(times) for times in self.latencies.values())

    def percentile(self, kind: str, q: float) -> float:
        times = sorted(self.latencies[kind])
        return times[min(int(q * len(times)), len(times) - 1)] if times else float("nan")

    def summary(self) -> str:
        lines = [f"{self.requests} requests, {len(self.failures)} failed"]
        for kind, times in sorted(self.latencies.items()):
            lines.append(
                f"  {kind:<10} n={len(times):<5} p50 {1000 * statistics.median(times):7.1f} ms"
                f"  p99 {1000 * self.percentile(kind, 0.99):7.1f} ms"
            )
        return "\n".join(lines)


def run_load(base_url: str, visitors: list[Visitor], seconds: float, upload_file: Path | None) -> LoadResult:
    """Every visitor at once, as fast as the site answers, for `seconds`:
    the library, their transcript's page and (when given) an upload."""
    result = LoadResult()
    asyncio.run(_load(base_url, visitors, seconds, upload_file, result))
    return result


async def _load(base_url: str, visitors: list[Visitor], seconds: float, upload_file: Path | None, result) -> None:
    deadline = time.monotonic() + seconds
    upload = upload_file.read_bytes() if upload_file else b""
    await asyncio.gather(*(_visit(base_url, visitor, deadline, upload, upload_file, result) for visitor in visitors))


async def _visit(base_url: str, visitor: Visitor, deadline: float, upload: bytes, upload_file, result) -> None:
    # Any 32-character secret is a valid CSRF token when cookie and header agree.
    cookies = {settings.SESSION_COOKIE_NAME: visitor.session, settings.CSRF_COOKIE_NAME: "x" * 32}
    headers = {"X-CSRFToken": "x" * 32, "Accept": "application/json"}
    async with httpx.AsyncClient(base_url=base_url, timeout=60, cookies=cookies, headers=headers) as http:
        rounds = 0
        while time.monotonic() < deadline:
            rounds += 1
            await _timed(result, "library", http.get("/transcripts/"), 200)
            await _timed(result, "page", http.get(f"/transcripts/{visitor.transcript_id}/"), 200)
            if upload and rounds % UPLOAD_EVERY == 0:
                files = {"file": (upload_file.name, upload, "audio/wav")}
                await _timed(
                    result, "upload", http.post("/transcripts/upload/file/", data={"engine": "local"}, files=files), 201
                )


async def _timed(result: LoadResult, kind: str, request, expected: int) -> None:
    began = time.monotonic()
    try:
        response = await request
    except httpx.HTTPError as error:
        result.failures.append(f"{kind}: {type(error).__name__} {error}")
        return
    result.latencies[kind].append(time.monotonic() - began)
    if response.status_code != expected:
        result.failures.append(f"{kind}: HTTP {response.status_code} {response.text[:200]}")


class ConnectionWatch:
    """Samples, in a thread of its own, how many connections the site's
    processes hold to the database (by their application_name)."""

    def __init__(self, dsn: str, application_name: str, interval: float = 0.1):
        self.dsn, self.application_name, self.interval = dsn, application_name, interval
        self.samples: list[int] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ConnectionWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(5)

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            while not self.stopped.is_set():
                self.samples.append(self.count(connection))
                time.sleep(self.interval)

    def count(self, connection, state: str | None = None) -> int:
        # Only this test's database: other suites on the same server run sites named "verbatim" too.
        query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()"
        params: list = [self.application_name]
        if state:
            query += " AND state = %s"
            params.append(state)
        return connection.execute(query, params).fetchone()[0]

    def now(self, state: str | None = None) -> int:
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            return self.count(connection, state)

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)
