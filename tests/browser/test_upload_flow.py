"""The first thing a person does, in a real browser against a real server
and worker: sign up, upload two recordings at once, watch both finish
without reloading, and read the words. Also takes the README screenshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import support
from tests.media_corpus import SENTENCE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECOND = "Please remember to water the plants in the garden every evening."
SCREENSHOT_MAX_BYTES = 200_000


def screenshot(page, name: str) -> Path:
    """A screenshot of the whole page, kept small. With UPDATE_SCREENSHOTS=1 it
    replaces the README's copy in docs/; otherwise it goes to the data dir, so
    a test run leaves the checkout as it was."""
    directory = support.ROOT / "docs" if os.environ.get("UPDATE_SCREENSHOTS") else Path(os.environ["DATA_DIR"])
    directory.mkdir(exist_ok=True)
    target = directory / name
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size < SCREENSHOT_MAX_BYTES, f"{name} is {target.stat().st_size} bytes"
    return target


def named_copy(source: Path, directory: Path, name: str) -> Path:
    target = directory / name
    target.write_bytes(source.read_bytes())
    return target


def test_sign_up_upload_two_files_and_read_the_transcript(make_site, page, speech, tmp_path):
    site = make_site()
    page.set_viewport_size({"width": 1100, "height": 720})
    page.goto(site.base_url + "/accounts/signup/")
    page.fill("#id_username", "erin")
    page.fill("#id_email", "erin@example.com")
    page.fill("#id_password1", "a long and unusual passphrase")
    page.fill("#id_password2", "a long and unusual passphrase")
    page.click("form button[type=submit]")
    page.wait_for_url("**/transcripts/upload/")

    first = named_copy(speech(SENTENCE), tmp_path, "Fox and dog.wav")
    second = named_copy(speech(SECOND, ".mp3"), tmp_path, "Garden reminder.mp3")
    page.wait_for_function("document.body.dataset.jobsSocket === 'open'", timeout=15000)
    page.set_input_files("#file-input", [str(first), str(second)])
    rows = page.locator("#uploads tr")
    assert rows.count() == 2
    # Both rows follow their jobs live, through the WebSocket, to Done.
    page.wait_for_function(
        "document.querySelectorAll('#uploads tr[data-status=\"done\"]').length === 2", timeout=120_000
    )
    assert page.locator("#uploads .status-done").all_inner_texts() == ["Done", "Done"]
    assert page.locator("#uploads [data-role=error]:visible").count() == 0
    screenshot(page, "screenshot-upload.png")

    page.goto(site.base_url + "/transcripts/")
    for title in (first.stem, second.stem):
        row = page.locator("tr.job", has_text=title)
        assert row.locator(".status").inner_text() == "Done"
        # A finished job offers neither Cancel nor Retry.
        assert not row.locator("[data-role=cancel]").is_visible()
        assert not row.locator("[data-role=retry]").is_visible()
    screenshot(page, "screenshot-library.png")

    page.locator(f"a:has-text('{first.stem}')").first.click()
    page.wait_for_load_state()
    text = page.locator("main").inner_text().lower()
    assert "quick brown fox" in text or ("fox" in text and "lazy" in text), text[:1000]
