"""Settings come from the environment through typed readers that refuse bad
values; production refuses to start without a secret key and passes
Django's deployment checks."""

from __future__ import annotations

import re
import secrets
import stat
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from project import env
from tests import support


@pytest.fixture
def environ(monkeypatch):
    def set_value(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)

    return set_value


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("1", True), ("ON", True), ("no", False), ("0", False), ("False", False)]
)
def test_env_bool_reads_common_spellings(environ, value, expected):
    environ("VERBATIM_FLAG", value)
    assert env.env_bool("VERBATIM_FLAG", not expected) is expected


@pytest.mark.parametrize(
    ("reader", "value", "kwargs"),
    [
        (env.env_bool, "maybe", {"default": True}),
        (env.env_int, "ten", {"default": 1}),
        (env.env_int, "2.5", {"default": 1}),
        (env.env_int, "0", {"default": 1, "minimum": 1}),
        (env.env_float, "fast", {"default": 1.0}),
        (env.env_float, "-1", {"default": 1.0, "minimum": 0}),
        (env.env_bytes, "3 parsecs", {"default": 1}),
        (env.env_bytes, "-5MB", {"default": 1}),
        (env.env_bytes, "GB", {"default": 1}),
        (env.env_url, "ftp://example.com", {"schemes": ("http", "https")}),
        (env.env_url, "example.com", {"schemes": ("http", "https")}),
    ],
)
def test_readers_refuse_bad_values_by_name(environ, reader, value, kwargs):
    environ("VERBATIM_SETTING", value)
    with pytest.raises(ImproperlyConfigured, match="VERBATIM_SETTING"):
        reader("VERBATIM_SETTING", **kwargs)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3GB", 3 * 1000**3), ("500MiB", 500 * 1024**2), ("1024", 1024), ("1.5 kb", 1500), ("2TB", 2 * 1000**4)],
)
def test_env_bytes_reads_sizes(environ, value, expected):
    environ("VERBATIM_SIZE", value)
    assert env.env_bytes("VERBATIM_SIZE", 1) == expected


def test_unset_or_empty_values_give_the_default(environ, monkeypatch):
    monkeypatch.delenv("VERBATIM_UNSET", raising=False)
    assert env.env_int("VERBATIM_UNSET", 7) == 7
    environ("VERBATIM_EMPTY", "   ")
    assert env.env_str("VERBATIM_EMPTY", "x") == "x"
    assert env.env_list("VERBATIM_EMPTY", ["a"]) == ["a"]
    environ("VERBATIM_LIST", " a.example, ,b.example ")
    assert env.env_list("VERBATIM_LIST") == ["a.example", "b.example"]


def run_settings(code: str, **environment: str) -> subprocess.CompletedProcess:
    """Import the real settings in a fresh interpreter with this environment."""
    clean = {
        key: value
        for key, value in support.process_env().items()
        if key not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS")
    }
    clean.update(DJANGO_SETTINGS_MODULE="project.settings", **environment)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=support.ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


# A site pointed at a database server is a team's deployment (not embedded):
# every process on every machine must share the key, so none is generated.
PRODUCTION_DATABASE = "postgres://verbatim@db.example.com:5432/verbatim"


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = run_settings(
        "import django; django.setup()", DEBUG="false", DATA_DIR=str(tmp_path), DATABASE_URL=PRODUCTION_DATABASE
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_a_typo_in_a_setting_stops_the_process(tmp_path):
    result = run_settings("import django; django.setup()", MAX_UPLOAD_SIZE="lots", DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "MAX_UPLOAD_SIZE='lots' is not valid" in result.stderr


def test_production_settings_pass_the_deployment_checks(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=support.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            key: value
            for key, value in support.process_env(
                DJANGO_SETTINGS_MODULE="project.settings",
                DEBUG="false",
                SECRET_KEY=secrets.token_urlsafe(50),
                ALLOWED_HOSTS="example.com",
                DATA_DIR=str(tmp_path),
                DATABASE_URL=PRODUCTION_DATABASE,
                EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            ).items()
            if key != "REDIS_URL"
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_env_choice_reads_one_of_its_choices_and_refuses_others(environ):
    environ("VERBATIM_SIGNUP", "Invite")
    assert env.env_choice("VERBATIM_SIGNUP", "", ("", "open", "invite")) == "invite"
    environ("VERBATIM_SIGNUP", "everyone")
    with pytest.raises(ImproperlyConfigured, match="VERBATIM_SIGNUP.*one of open, invite"):
        env.env_choice("VERBATIM_SIGNUP", "", ("", "open", "invite"))


def test_env_numbers_reads_name_number_pairs(environ):
    environ("VERBATIM_MINUTES", "scribe=600, local=1.5")
    assert env.env_numbers("VERBATIM_MINUTES") == {"scribe": 600.0, "local": 1.5}
    for bad in ("scribe", "scribe=lots", "=5", "scribe=-1"):
        environ("VERBATIM_MINUTES", bad)
        with pytest.raises(ImproperlyConfigured, match="VERBATIM_MINUTES"):
            env.env_numbers("VERBATIM_MINUTES")


EMBEDDED_SETTINGS = "import django; django.setup(); from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY)"


def test_the_embedded_default_runs_without_debug_on_a_secret_key_of_its_own(tmp_path):
    """Nothing configured (make run): DEBUG off, and a key generated on the
    first start, kept in DATA_DIR readable by its owner only, used again on
    every later start; another data dir gets another key."""
    first = run_settings(EMBEDDED_SETTINGS, DATA_DIR=str(tmp_path / "one"))
    assert first.returncode == 0, first.stderr
    debug, key = first.stdout.split()
    assert debug == "False"
    assert len(key) >= 50
    key_file = tmp_path / "one" / "secret_key"
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = run_settings(EMBEDDED_SETTINGS, DATA_DIR=str(tmp_path / "one"))
    assert again.stdout.split() == ["False", key]
    elsewhere = run_settings(EMBEDDED_SETTINGS, DATA_DIR=str(tmp_path / "two"))
    assert elsewhere.stdout.split()[1] != key


def test_debug_is_for_development_only_when_asked(tmp_path):
    result = run_settings(EMBEDDED_SETTINGS, DATA_DIR=str(tmp_path), DEBUG="true")
    assert result.stdout.split()[0] == "True"
    assert result.stdout.split()[1] == (tmp_path / "secret_key").read_text().strip()  # no well-known key either


def variables_read_by_the_code() -> set[str]:
    readers = re.compile(r"""(?:env_[a-z]+\(\s*|os\.environ\.get\(\s*|getenv\(\s*)"([A-Z][A-Z0-9_]+)\"""")
    found = set()
    for package in ("project", "accounts", "api", "transcripts", "realtime"):
        for path in (support.ROOT / package).rglob("*.py"):
            found.update(readers.findall(path.read_text()))
    return found - {"DJANGO_SETTINGS_MODULE"}


def test_every_setting_is_in_the_readme_table_and_the_env_example():
    readme_rows = [line for line in (support.ROOT / "README.md").read_text().splitlines() if line.startswith("| `")]
    example = (support.ROOT / "docker" / ".env.example").read_text()
    variables = variables_read_by_the_code()
    assert {"DATABASE_POOL_MAX_SIZE", "TRUSTED_PROXIES", "SECRET_KEY"} <= variables
    assert {name for name in variables if not any(f"`{name}`" in row for row in readme_rows)} == set()
    assert {name for name in variables if not re.search(rf"^{name}=", example, re.MULTILINE)} == set()
