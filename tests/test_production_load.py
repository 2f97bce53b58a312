"""Production mode under load: Daphne on Postgres and Redis with DEBUG off,
50 signed-in people at once for 30 s on the library, their transcript pages
and uploads. Nothing may fail, the server may never hold more database
connections than its pool allows, and they must all be idle again (back in
the pool) once the load stops, so the workers and every other database on
the server can still connect."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.db import connection
from django.test import override_settings

from tests import load, support, web
from tests.conftest import site_env
from tests.media_corpus import silent_wav
from tests.transcripts.factories import done_transcript, sentence_data

pytestmark = pytest.mark.slow

CLIENTS = 50
SECONDS = 30
POOL_SIZE = 8
SECRET_KEY = "a-test-secret-key-that-is-long-enough-for-production-0123456789"


def production_env(**overrides: str) -> dict[str, str]:
    return site_env(
        DEBUG="false",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DATABASE_POOL_MAX_SIZE=str(POOL_SIZE),
        **overrides,
    )


@pytest.fixture
def production_site(transactional_db, tmp_path):
    env = production_env()
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=support.ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    port = support.free_port()
    daphne = support.start_daphne(env, port)
    yield f"http://127.0.0.1:{port}", daphne
    daphne.stop()


def server_errors(log: str) -> list[str]:
    """The server's error lines and exceptions (its log is mostly logins)."""
    return [
        line for line in log.splitlines() if " ERROR " in line or line.split(":")[0].endswith(("Error", "Timeout"))
    ][-20:]


def site_connections(dsn: str) -> load.ConnectionWatch:
    return load.ConnectionWatch(dsn, application_name="verbatim")


def test_fifty_people_for_thirty_seconds_get_no_errors_within_the_pool(production_site, django_user_model, tmp_path):
    base_url, daphne = production_site
    visitors = []
    for number in range(CLIENTS):
        person = django_user_model.objects.create_user(f"person{number}", f"p{number}@example.com", "pw-unused-here")
        transcript = done_transcript(person, sentence_data("the quarterly numbers look good this time"))
        with override_settings(SECRET_KEY=SECRET_KEY):  # sessions are signed with the site's key
            visitors.append(load.Visitor(web.session_cookie(person), transcript.pk))
    upload_file = tmp_path / "note.wav"
    upload_file.write_bytes(silent_wav(1.0))
    database = connection.settings_dict
    dsn = f"host={database['HOST']} port={database['PORT']} user={database['USER']} dbname={database['NAME']}"

    with site_connections(dsn) as watch:
        result = load.run_load(base_url, visitors, SECONDS, upload_file)
    print(result.summary(), f"\npeak connections {watch.peak}")

    assert not result.failures, result.failures[:10] + server_errors(daphne.output())
    assert result.latencies["upload"], "no upload was made"
    assert watch.peak <= POOL_SIZE
    support.wait_until(lambda: watch.now() == watch.now("idle"), 10, message="every connection back in the pool")
    assert watch.now() <= POOL_SIZE
