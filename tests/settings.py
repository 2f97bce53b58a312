"""Test settings: the project's settings against the machine's Postgres and
Redis. TEST_DATABASE_URL / TEST_REDIS_URL override them (for example to run
two suites side by side on one machine)."""

import os
import tempfile

os.environ["DATABASE_URL"] = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/verbatim")
os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="verbatim-test-"))
os.environ.setdefault("DEBUG", "true")
for name in ("ELEVENLABS_API_KEY", "S3_BUCKET", "CELERY_BROKER_URL", "PROGRESS_POLL_SECONDS", "DEFAULT_ENGINE"):
    os.environ.pop(name, None)

from project.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast sign-ups in tests
# Tell this process's connections apart from those of the sites the tests start.
DATABASES["default"]["OPTIONS"]["application_name"] = "verbatim-tests"  # noqa: F405
# Throttling counters in this process's memory, emptied before each test
# (conftest.py); the sites tests start use Redis as in production.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Refused logins are answered at once here (the pause is for floods).
REFUSED_LOGIN_DELAY_SECONDS = 0
