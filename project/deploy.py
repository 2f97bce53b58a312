"""What a production deployment refuses to start with.

"Production" is DEBUG off with the site pointed at services (a database
server, Redis, a bucket): a team's deployment. The embedded mode (nothing
configured, one person on one box) may run with DEBUG off too and is left
alone. Every process reads the settings, so the web server, the workers and
manage.py all refuse together, listing every problem at once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# Django's own deployment check asks the same of a key.
MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_CHARACTERS = 5
# Fragments of the keys that example files and tutorials ship with.
PLACEHOLDER_FRAGMENTS = ("change-me", "changeme", "change_me", "replace-me", "placeholder", "insecure", "example")
GENERATE_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
CONSOLE_MAIL = "django.core.mail.backends.console.EmailBackend"
# Variables that point the site at services: set any, and it is not embedded.
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "S3_BUCKET")


def is_production(debug: bool, explicit: Collection[str]) -> bool:
    return not debug and any(name in explicit for name in SERVICE_VARIABLES)


def secret_key_problem(key: str) -> str | None:
    if any(fragment in key.lower() for fragment in PLACEHOLDER_FRAGMENTS):
        return f"SECRET_KEY is a placeholder: set a random one, for example {GENERATE_KEY}."
    if len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < MIN_SECRET_KEY_CHARACTERS:
        return f"SECRET_KEY is too short: use at least {MIN_SECRET_KEY_LENGTH} random characters ({GENERATE_KEY})."
    return None


def explicit_variables(environ: Mapping[str, str]) -> set[str]:
    """The variables given a value (the readers treat empty as unset)."""
    return {name for name, value in environ.items() if value.strip()}


def problems(settings: Mapping[str, Any], explicit: Collection[str]) -> list[str]:
    """What is unsafe for production in `settings`; `explicit` names the
    variables set in the environment (a default is not a choice)."""
    found = []
    if problem := secret_key_problem(settings["SECRET_KEY"]):
        found.append(problem)
    if settings["EMAIL_BACKEND"] == CONSOLE_MAIL:
        found.append(
            "EMAIL_BACKEND is the console backend: password-reset links would be printed to the log. "
            "Set EMAIL_BACKEND and EMAIL_HOST (SMTP), or another mail backend."
        )
    if "ALLOWED_HOSTS" not in explicit or not settings["ALLOWED_HOSTS"]:
        found.append("ALLOWED_HOSTS is not set: name the host names the site answers to.")
    return found


def refuse_unsafe_production(settings: Mapping[str, Any], explicit: Collection[str]) -> None:
    if not is_production(settings["DEBUG"], explicit):
        return
    if found := problems(settings, explicit):
        listed = "\n".join(f"  - {problem}" for problem in found)
        raise ImproperlyConfigured(
            f"Refusing to start in production (DEBUG is off and the site uses services):\n{listed}"
        )
