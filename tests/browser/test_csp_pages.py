"""The pages work under the Content-Security-Policy in Chromium: no
violation is reported on any of them, and the behaviour that used inline
handlers (confirm before delete) still works from page.js."""

from __future__ import annotations

import pytest

from tests.browser.test_transcript_page import PASSWORD, log_in, meeting, owner, site  # noqa: F401
from transcripts import sharing
from transcripts.models import Transcript

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_no_page_reports_a_policy_violation(site, strict_page, meeting):  # noqa: F811
    page = strict_page
    violations: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI))"
    )
    _, token = sharing.create_link(meeting)
    log_in(page, site)
    for path in (
        "/transcripts/",
        f"/transcripts/{meeting.pk}/",
        f"/transcripts/{meeting.pk}/shares/",
        "/transcripts/upload/",
        "/live/",
        "/accounts/",
        f"/s/{token}/",
        "/api/docs/",
    ):
        page.goto(f"{site.base_url}{path}")
        page.wait_for_load_state("networkidle")
    # The player loads its media under the policy (media-src). Awaited with
    # evaluate: wait_for_function polls with eval, which the policy forbids.
    page.goto(f"{site.base_url}/transcripts/{meeting.pk}/")
    loaded = "p => new Promise(ok => p.readyState >= 1 ? ok() : p.addEventListener('loadedmetadata', ok))"
    page.locator("#player").evaluate(loaded)
    assert violations == []


def test_delete_still_asks_first(site, page, meeting):  # noqa: F811
    log_in(page, site)
    page.goto(f"{site.base_url}/transcripts/")
    asked: list[str] = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", answer)
    page.locator("details summary").first.click()
    page.locator("button.danger", has_text="Delete").first.click()
    page.wait_for_timeout(300)
    assert asked == ["Delete this transcript and its recording?"]
    assert Transcript.objects.filter(pk=meeting.pk).exists()
