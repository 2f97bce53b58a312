"""Shared fixtures, and the test tiers.

Three tiers, each its own pytest run (see the Makefile): the fast tier
(in-process, `-m "not slow and not browser"`, in parallel with pytest-xdist),
the slow tier (`-m slow`: real Daphne, Celery workers and other processes)
and the browser tier (`pytest tests/browser`: Chromium through Playwright,
collected only when asked for by path). A test that starts a process or a
browser must be marked: collection stops on an unmarked one that uses such a
fixture, and support.Process refuses to start from an unmarked test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests import support

BROWSER_TESTS = Path(__file__).parent / "browser"
# Fixtures that start processes or a browser, and the mark a test using them needs.
PROCESS_FIXTURES = {
    "make_site": "slow",
    "embedded_site": "slow",
    "production_site": "slow",
    "production_serve": "slow",
    "chromium": "browser",
    "page": "browser",
}


@pytest.fixture(scope="session", autouse=True)
def _clean_redis():
    """Old broker messages and channel-layer groups from an earlier run must
    not reach this run's workers. (Not in a parallel run: one xdist worker
    would empty Redis under the other's test; no such run starts workers.)"""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture(scope="session", autouse=True)
def _close_async_connections(django_db_setup, django_db_blocker):
    """Database work awaited from in-process async tests runs in asgiref's one
    shared thread, whose connection would otherwise keep the test database
    busy when pytest-django drops it (a warning and a 5 s retry)."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    with django_db_blocker.unblock():
        SyncToAsync.single_thread_executor.submit(connections.close_all).result()


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
def data_dir() -> Path:
    return Path(settings.DATA_DIR)


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    """The browser tier is collected only when its folder (or a file in it)
    is named on the command line: Playwright's sync API needs Django's
    async-safety check off (tests/browser/conftest.py), which must not leak
    into the other tiers' processes."""
    if collection_path != BROWSER_TESTS:
        return None
    asked = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    return not any(path == BROWSER_TESTS or BROWSER_TESTS in path.parents for path in asked)


def unmarked_process_tests(items) -> list[str]:
    """Tests that use a process- or browser-starting fixture without its mark."""
    unmarked = []
    for item in items:
        for fixture in PROCESS_FIXTURES.keys() & set(getattr(item, "fixturenames", ())):
            if item.get_closest_marker(PROCESS_FIXTURES[fixture]) is None:
                unmarked.append(f"{item.nodeid} uses {fixture} but is not marked {PROCESS_FIXTURES[fixture]}")
    return unmarked


def pytest_collection_modifyitems(config, items):
    unmarked = unmarked_process_tests(items)
    if unmarked:
        raise pytest.UsageError("\n".join(unmarked))


@pytest.fixture(autouse=True)
def _current_test(request):
    """support.Process checks the test it is started from is marked."""
    support.current_test = request.node
    yield
    support.current_test = None


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
