"""Tokens never reach the logs: Daphne's access log and every logger show
`sha256:` and a hash prefix instead of share, live viewer, invite and
password-reset tokens and the `token=` of single-use socket tokens."""

from __future__ import annotations

import contextlib
import logging
import secrets

import httpx
import pytest

from project.redact import RedactTokens, redact, token_hash
from tests import support
from tests.transcripts.factories import done_transcript, sentence_data
from transcripts import sharing


def token() -> str:
    return secrets.token_urlsafe(32)


@pytest.mark.parametrize(
    "template",
    [
        "GET /s/{t}/",
        "GET /s/{t}/media/",
        "GET /s/{t}/export/srt/",
        "GET /live/view/{t}/",
        "WSCONNECT /ws/live/view/{t}/",
        "GET /accounts/signup/{t}/",
        "GET /accounts/reset/MQ/{t}/",
        "WSREJECT /ws/live/?token={t}",
        "WSCONNECT /v1/speech-to-text/realtime?model_id=scribe_v2_realtime&token={t}&audio_format=pcm_16000",
        "GET /api/v1/transcripts?xi-api-key={t}",
        "Not Found: /s/{t}/",
    ],
)
def test_tokens_become_a_hash_prefix(template):
    secret = token()
    cleaned = redact(template.format(t=secret))
    assert secret not in cleaned
    assert token_hash(secret) in cleaned
    assert cleaned == template.format(t=token_hash(secret))


def test_other_paths_are_left_alone():
    for line in ("GET /transcripts/12/ 200", "GET /static/js/live.js", "GET /accounts/reset/MQ/set-password/"):
        assert redact(line) == line


def test_the_logging_filter_rewrites_the_record():
    secret = token()
    path = f"/s/{secret}/"
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found: %s", (path,), None)
    assert RedactTokens().filter(record)
    assert secret not in record.getMessage()
    assert token_hash(secret) in record.getMessage()


def ws_open(url: str) -> None:
    from websockets.sync.client import connect

    with contextlib.suppress(Exception), connect(url, open_timeout=10) as socket:
        socket.close()


@pytest.mark.slow
def test_a_running_site_logs_no_token(make_site, user):
    site = make_site(worker=False)
    share_link, share_token = sharing.create_link(done_transcript(user, sentence_data("hello there")))
    others = {name: token() for name in ("viewer", "ws_viewer", "invite", "reset", "query", "socket", "scribe")}
    with httpx.Client(base_url=site.base_url, timeout=30) as http:
        assert http.get(f"/s/{share_token}/").status_code == 200
        http.get(f"/live/view/{others['viewer']}/")
        http.get(f"/accounts/signup/{others['invite']}/")
        http.get(f"/accounts/reset/MQ/{others['reset']}/")
        http.get(f"/api/v1/me?token={others['query']}")
    ws_url = site.base_url.replace("http://", "ws://")
    ws_open(f"{ws_url}/ws/live/view/{others['ws_viewer']}/")
    # Daphne leaves a socket's query string out of its log; loggers may not.
    ws_open(f"{ws_url}/ws/live/?token={others['socket']}")
    ws_open(f"{ws_url}/v1/speech-to-text/realtime?model_id=scribe_v2_realtime&token={others['scribe']}")
    secrets_used = {"share": share_token, **others}
    logged = [token_hash(secrets_used[name]) for name in ("share", "viewer", "invite", "reset", "query", "ws_viewer")]
    support.wait_until(lambda: all(h in site.logs() for h in logged), 10, message="every request logged")
    log = "\n".join(process.output() for process in site.processes)
    leaked = [name for name, value in secrets_used.items() if value in log]
    assert leaked == [], log
    assert logged[0].removeprefix("sha256:") in share_link.token_hash  # the same hash the database keeps
