"""A Content-Security-Policy without inline scripts or handlers: every page
carries it, no template has an inline script or an on...= handler, and HSTS
preload is the operator's opt-in (off by default)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest

from tests.test_settings import run_settings
from tests.transcripts.factories import done_transcript, sentence_data
from transcripts import sharing

TEMPLATES = Path(__file__).resolve().parent.parent / "frontend" / "templates"
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
# A <script> element without src that is not a data block (JSON).
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)


def directives(header: str) -> dict[str, str]:
    return {part.split()[0]: part.partition(" ")[2] for part in (p.strip() for p in header.split(";")) if part}


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_has_inline_scripts_or_handlers(template):
    text = template.read_text()
    assert not INLINE_HANDLER.search(text), INLINE_HANDLER.search(text)
    assert not INLINE_SCRIPT.search(text), INLINE_SCRIPT.search(text)
    assert "javascript:" not in text


@pytest.fixture
def pages(user):
    transcript = done_transcript(user, sentence_data("hello there team"))
    _, token = sharing.create_link(transcript)
    return [
        "/",
        "/accounts/login/",
        "/transcripts/",
        "/transcripts/upload/",
        f"/transcripts/{transcript.pk}/",
        f"/transcripts/{transcript.pk}/shares/",
        f"/s/{token}/",
        "/live/",
        "/accounts/",
        "/api/docs/",
        "/api/redoc/",
        "/no/such/page/",
    ]


@pytest.mark.django_db
def test_every_page_carries_a_policy_without_inline_scripts(auth_client, pages):
    for path in pages:
        response = auth_client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        policy = directives(response["Content-Security-Policy"])
        assert policy["script-src"] == "'self'", path
        assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
        assert "ws://testserver" in policy["connect-src"]
        html = response.content.decode()
        assert not INLINE_HANDLER.search(html), (path, INLINE_HANDLER.search(html))
        assert not INLINE_SCRIPT.search(html), (path, INLINE_SCRIPT.search(html))
        if not path.startswith("/api/"):
            assert policy["style-src"] == "'self'", path


@pytest.mark.django_db
def test_swagger_ui_gets_its_start_script_from_a_file(auth_client):
    page = auth_client.get("/api/docs/").content.decode()
    script = re.search(r'<script src="([^"]*script=[^"]*)"', page)
    assert script, page
    response = auth_client.get(script.group(1).replace("&amp;", "&"))
    assert response.status_code == 200 and "SwaggerUIBundle" in response.content.decode()


HSTS = "import django; django.setup(); from django.conf import settings; print(settings.SECURE_HSTS_PRELOAD)"


@pytest.mark.parametrize(("value", "expected"), [("", "False"), ("true", "True")])
def test_hsts_preload_is_an_opt_in(tmp_path, value, expected):
    # HSTS is sent behind TLS: production, or the embedded mode with SECURE_SSL_REDIRECT.
    environment = {
        "DEBUG": "false",
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "true",
    }
    if value:
        environment["SECURE_HSTS_PRELOAD"] = value
    result = run_settings(HSTS, **environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
