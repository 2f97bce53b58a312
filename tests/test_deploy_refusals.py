"""Production (DEBUG off, pointed at services) refuses to start with a
placeholder or short SECRET_KEY, the console mail backend (reset links in
the log) or no ALLOWED_HOSTS; the embedded mode is left alone."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from project import deploy
from tests.test_settings import run_settings

EXAMPLE_ENV = Path(__file__).resolve().parent.parent / "docker" / ".env.example"
GOOD_KEY = secrets.token_urlsafe(50)
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def example_secret_key() -> str:
    for line in EXAMPLE_ENV.read_text().splitlines():
        if line.startswith("SECRET_KEY="):
            return line.removeprefix("SECRET_KEY=")
    raise AssertionError("docker/.env.example has no SECRET_KEY line")


def production(tmp_path: Path, **overrides: str) -> dict[str, str]:
    environment = {
        "DEBUG": "false",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nowhere",
        "SECRET_KEY": GOOD_KEY,
        "ALLOWED_HOSTS": "verbatim.example.com",
        "EMAIL_BACKEND": SMTP,
    }
    environment.update(overrides)
    return {name: value for name, value in environment.items() if value}


def start(environment: dict[str, str]):
    return run_settings("import django; django.setup(); print('started')", **environment)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": example_secret_key()}, "SECRET_KEY is a placeholder"),
        ({"SECRET_KEY": "django-insecure-" + "x1y2z3" * 10}, "SECRET_KEY is a placeholder"),
        ({"SECRET_KEY": "s3cr3t-but-short"}, "SECRET_KEY is too short"),
        ({"SECRET_KEY": "ab" * 40}, "SECRET_KEY is too short"),
        ({"EMAIL_BACKEND": ""}, "EMAIL_BACKEND is the console backend"),
        ({"EMAIL_BACKEND": deploy.CONSOLE_MAIL}, "EMAIL_BACKEND is the console backend"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is not set"),
    ],
)
def test_production_refuses_to_start(tmp_path, overrides, message):
    result = start(production(tmp_path, **overrides))
    assert result.returncode != 0
    assert "Refusing to start in production" in result.stderr
    assert message in result.stderr
    assert "started" not in result.stdout


def test_every_problem_is_listed_at_once(tmp_path):
    result = start(production(tmp_path, SECRET_KEY="short", EMAIL_BACKEND="", ALLOWED_HOSTS=""))
    assert result.returncode != 0
    for message in ("SECRET_KEY is too short", "EMAIL_BACKEND is the console backend", "ALLOWED_HOSTS is not set"):
        assert message in result.stderr


@pytest.mark.parametrize("service", ["REDIS_URL", "S3_BUCKET", "CELERY_BROKER_URL"])
def test_any_service_makes_it_production(tmp_path, service):
    value = {"REDIS_URL": "redis://127.0.0.1:6379/1", "S3_BUCKET": "media", "CELERY_BROKER_URL": "amqp://x"}[service]
    environment = production(tmp_path, DATABASE_URL="", EMAIL_BACKEND="", **{service: value})
    result = start(environment)
    assert "EMAIL_BACKEND is the console backend" in result.stderr


def test_a_safe_production_configuration_starts(tmp_path):
    result = start(production(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_the_embedded_mode_with_debug_off_is_not_production(tmp_path):
    # Nothing pointed at a service: one person's box, whatever DEBUG says.
    result = start({"DEBUG": "false", "DATA_DIR": str(tmp_path), "SECRET_KEY": "embedded-" + GOOD_KEY})
    assert result.returncode == 0, result.stderr


def test_debug_mode_is_not_production(tmp_path):
    result = start(production(tmp_path, DEBUG="true", SECRET_KEY="", EMAIL_BACKEND="", ALLOWED_HOSTS=""))
    assert result.returncode == 0, result.stderr
