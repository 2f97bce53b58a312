"""Secrets out of the logs: the tokens in paths and query strings.

Only a token's hash is stored, so a token printed in an access log would be
the one copy of a working link. Each one is replaced by `sha256:` and the first
characters of its SHA-256, the same hash the database keeps (enough to find
the link or invite in the admin, nothing to open it with).
"""

from __future__ import annotations

import hashlib
import logging
import re

HASH_PREFIX_LENGTH = 12

# Paths whose segment after the prefix is a secret: share links, live viewer
# links (page and socket), invites and password-reset links.
_PATH_TOKEN = re.compile(
    r"(?P<prefix>/(?:s|live/view|ws/live/view|accounts/signup)/|/accounts/reset/[^/?#\s]+/)"
    r"(?P<token>[^/?#\s\"']+)"
)
# Query parameters whose value is a secret (single-use socket tokens,
# API keys a client put in the URL, signatures).
_QUERY_SECRET = re.compile(
    r"(?P<name>[?&](?:[\w.-]*(?:token|key|secret|signature|password)[\w.-]*)=)(?P<token>[^&#\s\"']+)",
    re.IGNORECASE,
)
# Django's password-reset confirm page, once the token is in the session.
_KEPT = {"set-password"}


def token_hash(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:HASH_PREFIX_LENGTH]


def _hashed(match: re.Match) -> str:
    token = match["token"]
    if token in _KEPT:
        return match.group(0)
    return match.group(0)[: match.start("token") - match.start(0)] + token_hash(token)


def redact(text: str) -> str:
    """`text` with every token in a path or query string replaced by its hash prefix."""
    if "/" not in text and "=" not in text:
        return text
    return _QUERY_SECRET.sub(_hashed, _PATH_TOKEN.sub(_hashed, text))


class RedactTokens(logging.Filter):
    """A handler filter: every record is written with its tokens hashed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
