"""Bearer tokens stay out of the logs (RELIABILITY.md, trap 14).

Share and live links, single-use socket tokens and password-reset links
carry their secret in the URL, and Daphne's access log and Django's
"Not Found" warnings print URLs: a token in a log line is a working link
for whoever reads the logs, undoing "only its hash is stored". Every
URL-safe run of 32 or more characters (a token from `secrets.token_urlsafe`,
a reset token) is written as `~` and the first 12 hex digits of its SHA-256,
the prefix of the `token_hash` stored for a link, so an operator can still
tell which link a line was about. UUIDs (session and upload ids, not
secrets) are left as they are.
"""

from __future__ import annotations

import hashlib
import logging
import re

TOKEN = re.compile(r"[A-Za-z0-9_-]{32,}")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
HASH_PREFIX = 12


def redact(text: str) -> str:
    return TOKEN.sub(_hashed, text)


def _hashed(match: re.Match) -> str:
    found = match.group(0)
    if UUID.fullmatch(found):
        return found
    return "~" + hashlib.sha256(found.encode()).hexdigest()[:HASH_PREFIX]


class RedactTokens(logging.Filter):
    """On the log handlers (settings.LOGGING): every record, whoever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact_daphne_access_log() -> None:
    """Daphne writes its access log itself, not through `logging`."""
    from daphne.access import AccessLogGenerator

    if getattr(AccessLogGenerator, "_redacts_tokens", False):
        return
    original = AccessLogGenerator.write_entry

    def write_entry(self, host, date, request, *args, **kwargs):
        return original(self, host, date, redact(request), *args, **kwargs)

    AccessLogGenerator.write_entry = write_entry
    AccessLogGenerator._redacts_tokens = True
