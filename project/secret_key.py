"""The embedded mode's secret key: generated on the first start and kept in
DATA_DIR, so `make run` needs no configuration, signs nothing with a
well-known key, and keeps everyone signed in across restarts."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

OWNER_ONLY = 0o600


def load_or_create(path: Path) -> str:
    """The key in `path`, made first if there is none. Several processes start
    at once (the web server, the workers): the key is written to a file of
    this process's own and linked into place, which fails if another process
    was first, so every process reads the same whole key."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(50) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    # A key others can read is no secret: tighten a copy restored loosely.
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(OWNER_ONLY)
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it and a new key is made (everyone is signed out).")
    return key
