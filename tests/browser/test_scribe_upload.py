"""Through the browser, with the site pointed at the fake Scribe server: sign
up, upload a recording with Scribe and speaker identification, and read the
speakers in the finished transcript."""

from __future__ import annotations

import re

import pytest

from tests.fakes.scribe import FakeScribe

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def fake():
    with FakeScribe() as server:
        yield server


def test_upload_with_scribe_and_diarization_shows_speakers(make_site, page, fake, speech):
    site = make_site(ELEVENLABS_API_KEY=fake.api_key, ELEVENLABS_BASE_URL=fake.base_url)
    recording = speech("Hello there. This recording goes to the Scribe engine.")

    page.goto(f"{site.base_url}/accounts/signup/")
    page.fill("input[name=username]", "scribe-user")
    page.fill("input[name=email]", "scribe@example.com")
    page.fill("input[name=password1]", "a-long-unusual-passphrase-42")
    page.fill("input[name=password2]", "a-long-unusual-passphrase-42")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/transcripts/"))

    page.goto(f"{site.base_url}/transcripts/upload/")
    assert page.locator("select[name=engine]").input_value() == "scribe"  # the default with a key
    page.select_option("select[name=engine]", "scribe")
    page.check("input[name=diarize]")
    page.set_input_files("#file-input", str(recording))

    row = page.locator("#uploads tr[data-job-id]")
    row.wait_for(timeout=30_000)
    status = row.locator("[data-role=status]")
    try:
        page.wait_for_function("el => /done|failed/i.test(el.textContent)", arg=status.element_handle(), timeout=60_000)
    except Exception:
        raise AssertionError(f"job did not finish: {status.text_content()}\n{site.logs()}") from None
    assert "done" in status.text_content().lower(), row.inner_text()

    (request,) = fake.stt_requests()
    assert request.fields("diarize") == ["true"]
    assert request.fields("file")[0]["size"] == recording.stat().st_size

    row.locator("a").first.click()
    page.wait_for_load_state()
    body = page.locator("main").inner_text() if page.locator("main").count() else page.inner_text("body")
    assert "Hello from the fake Scribe server" in body
    speakers = page.locator(".turn .speaker")
    labels = {text.strip() for text in speakers.all_inner_texts()} if speakers.count() else set()
    # Tolerant of the detail page's wording: raw ids or "Speaker 1"-style labels.
    assert len(labels) >= 2 or re.search(r"speaker[ _]?[01]", body, re.IGNORECASE), body
