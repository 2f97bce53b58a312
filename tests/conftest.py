from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests import support

# Playwright's sync API runs an event loop in the test thread; the ORM calls
# made by the same tests are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session", autouse=True)
def _clean_redis():
    """Old broker messages and channel-layer groups from an earlier run must
    not reach this run's workers."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttling counters (password resets) start from zero in every test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "correct-horse-battery")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "correct-horse-battery")


@pytest.fixture
def auth_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture(scope="session")
def speech():
    """speech(text, suffix=".wav") -> Path of a recording of that text."""
    return support.speech_file


@dataclass
class Site:
    """Daphne and a Celery worker running as real processes on the test database."""

    base_url: str
    env: dict[str, str]
    processes: list[support.Process] = field(default_factory=list)

    def start_worker(self, **kwargs) -> support.Process:
        worker = support.start_worker(self.env, **kwargs)
        self.processes.append(worker)
        return worker

    def logs(self) -> str:
        return "\n".join(process.output()[-5000:] for process in self.processes)


def site_env(**overrides: str) -> dict[str, str]:
    """The environment for child processes: this test's database and data dir."""
    database = connection.settings_dict
    return support.process_env(
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        DATA_DIR=str(settings.DATA_DIR),
        **overrides,
    )


@pytest.fixture
def make_site(transactional_db):
    """make_site(worker=True, **env) starts Daphne (and a worker) against the
    test database; everything stops when the test ends."""
    sites: list[Site] = []

    def start(worker: bool = True, **overrides: str) -> Site:
        port = support.free_port()
        env = site_env(**overrides)
        site = Site(base_url=f"http://127.0.0.1:{port}", env=env)
        sites.append(site)
        site.processes.append(support.start_daphne(env, port))
        if worker:
            site.start_worker()
        return site

    yield start
    for site in sites:
        for process in site.processes:
            process.stop()


@pytest.fixture
def chromium():
    """A Chromium per test. Playwright's sync API keeps an event loop running in
    the test thread while it is open; scoped to one test, that loop cannot
    break async tests or async_to_sync calls that run later in the session."""
    if not support.have_chromium():
        pytest.fail("Debian's chromium is required for browser tests (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def data_dir() -> Path:
    return Path(settings.DATA_DIR)


def pytest_collection_modifyitems(config, items):
    """Browser tests run last: Playwright's sync API keeps an event loop running
    in the main thread while the session's browser lives, and an asyncio test
    after it fails with "Runner.run() cannot be called from a running event loop"."""
    items.sort(key=lambda item: "chromium" in getattr(item, "fixturenames", ()))


# --- S3 on loopback (tests/s3.py) ------------------------------------------------


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    from tests.s3 import start_s3_server

    server = start_s3_server(tmp_path_factory.mktemp("moto"))
    yield server
    server.process.stop()


@pytest.fixture
def s3_bucket(s3_server) -> str:
    return s3_server.new_bucket()


@pytest.fixture
def s3_media(settings, s3_server, s3_bucket) -> str:
    """Media in a fresh bucket on the loopback S3 server, for this test's process."""
    settings.STORAGES = s3_server.storages(s3_bucket)
    return s3_bucket
