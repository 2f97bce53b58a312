"""The pages' own calls go through the API (one contract): edits carry the
version they were made on, so a second tab's stale edit is refused with a
message instead of overwriting the first; a turn is reassigned and every
edit undone; a job row's Cancel and Retry redraw from the API's answer."""

from __future__ import annotations

import pytest

from tests.browser.test_transcript_page import log_in, meeting, owner, site, word  # noqa: F401 (fixtures)
from transcripts.models import Status, Transcript, TranscriptResult

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def correct(page, old: str, new: str) -> None:
    word(page, old).dblclick()
    editor = page.locator("input.word-edit")
    editor.fill(new)
    editor.press("Enter")


@pytest.mark.browser
def test_a_stale_tab_cannot_overwrite_an_edit_made_in_another(site, page, meeting):  # noqa: F811
    log_in(page, site)
    url = f"{site.base_url}/transcripts/{meeting.pk}/"
    page.goto(url)
    second = page.context.new_page()
    second.goto(url)
    correct(page, "budget", "finance")
    page.wait_for_selector("#transcript [data-i]:text-is('finance')")
    alerts: list[str] = []
    second.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    correct(second, "budget", "money")
    for _ in range(100):  # Playwright delivers the dialog while the page is being waited on
        if alerts:
            break
        second.wait_for_timeout(100)
    assert alerts and "changed since you loaded it" in alerts[0]
    result = TranscriptResult.objects.get(transcript=meeting)
    assert "quarterly finance review" in result.text and "money" not in result.text
    second.reload()  # after a reload the second tab edits the current version
    correct(second, "finance", "money")
    second.wait_for_selector("#transcript [data-i]:text-is('money')")
    assert "quarterly money review" in TranscriptResult.objects.get(transcript=meeting).text


@pytest.mark.browser
def test_reassign_a_turn_then_undo_every_edit(site, page, meeting):  # noqa: F811
    log_in(page, site)
    page.goto(f"{site.base_url}/transcripts/{meeting.pk}/")
    page.locator("#transcript .turn .speaker").nth(1).click()
    page.select_option("#turn-speaker", "speaker_0")
    page.click("#turn-save")
    page.wait_for_function("document.querySelectorAll('#transcript .turn').length === 1")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#speakers-panel summary")
    page.click("form[data-edit=revert] button")
    page.wait_for_function("document.querySelectorAll('#transcript .turn').length === 3")
    data = TranscriptResult.objects.get(transcript=meeting).data
    assert data == TranscriptResult.objects.get(transcript=meeting).original | {"text": data["text"]}


@pytest.mark.browser
def test_cancel_and_retry_from_the_library(site, page, owner):  # noqa: F811
    job = Transcript.objects.create(owner=owner, title="Waiting job", engine="local", status=Status.QUEUED)
    log_in(page, site)
    page.goto(f"{site.base_url}/transcripts/")
    row = page.locator(f"[data-job-id='{job.pk}']")
    row.locator("[data-role=cancel] button").click()
    page.wait_for_selector(f"[data-job-id='{job.pk}'][data-status=cancelled]")
    assert row.locator("[data-role=retry]").is_visible()
    row.locator("[data-role=retry] button").click()
    page.wait_for_selector(f"[data-job-id='{job.pk}'][data-status=queued]")
    assert Transcript.objects.get(pk=job.pk).status == Status.QUEUED
