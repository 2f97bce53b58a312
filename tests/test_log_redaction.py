"""Tokens never reach a log line whole: Daphne's access log and every
record through the configured handlers show a hash prefix instead."""

from __future__ import annotations

import hashlib
import io
import logging

from project.log_redaction import redact
from transcripts.tokens import new_token


def test_a_token_in_a_path_becomes_its_hash_prefix_and_uuids_stay():
    token, token_hash = new_token()
    session = "3f2a9c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b"
    for path in (f"/live/view/{token}/", f"/ws/live/view/{token}/", f"/s/{token}/media/", f"/ws/live/?token={token}"):
        line = redact(f"GET {path}")
        assert token not in line and f"~{token_hash[:12]}" in line
    assert redact(f"POST /api/v1/live/sessions/{session}/links") == f"POST /api/v1/live/sessions/{session}/links"
    assert redact("GET /transcripts/12/shares/") == "GET /transcripts/12/shares/"
    reset = "/accounts/reset/MQ/cfz1a2-0123456789abcdef0123456789abcdef/"
    assert "0123456789abcdef0123456789abcdef" not in redact(reset)


def test_daphne_writes_its_access_log_without_the_token():
    from daphne.access import AccessLogGenerator

    token, _ = new_token()
    stream = io.StringIO()
    log = AccessLogGenerator(stream)
    log("websocket", "connecting", {"client": ["127.0.0.1", 5000], "path": f"/ws/live/view/{token}/"})
    log(
        "http",
        "complete",
        {"client": ["127.0.0.1", 5000], "method": "GET", "path": f"/live/view/{token}/", "status": 404, "size": 9},
    )
    written = stream.getvalue()
    assert token not in written and written.count("~" + hashlib.sha256(token.encode()).hexdigest()[:12]) == 2


def test_django_s_not_found_warning_is_logged_without_the_token():
    token, _ = new_token()
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found: %s", (f"/s/{token}/",), None)
    handler = logging.getLogger().handlers[0]
    assert handler.filter(record)
    stream = io.StringIO()
    logging.StreamHandler(stream).handle(record)
    assert token not in stream.getvalue() and "Not Found: /s/~" in stream.getvalue()
