"""REST side of the fake Scribe server (see tests/fakes/scribe.py)."""

from aiohttp import web


def add_routes(app: web.Application, fake) -> None:
    """Registers POST /v1/speech-to-text, GET/DELETE transcripts, single-use tokens."""
