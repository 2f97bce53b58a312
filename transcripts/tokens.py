"""Unguessable link tokens (share links, live links).

A token carries 256 bits from `secrets`; only its SHA-256 is stored, so a
database leak does not leak working links. SHA-256 without a salt is enough
here: the token is random and long, so there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_token() -> tuple[str, str]:
    """(token to hand out once, hash to store)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
