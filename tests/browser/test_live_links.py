"""A live link's viewer page in a real browser follows its data: the saved
transcript as the owner edits it (the page reloads with the edit), and a
revoked link leaves the page saying so, with nothing of the transcript."""

from __future__ import annotations

import pytest

from realtime import services
from tests.realtime.live_support import session_cookie
from tests.web import signed_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_viewer_page_follows_edits_and_closes_when_the_link_is_revoked(make_site, page, user):
    site = make_site(worker=False)
    session = services.start_session(user, engine="local")
    services.append_segment(session.pk, 0, "the secret plan", None, 0, 2)
    new = services.create_link(session)
    transcript = services.end_session(session.pk)
    page.goto(f"{site.base_url}/live/view/{new.token}/")
    assert "secret" in page.locator("#viewer-transcript").text_content()
    page.wait_for_timeout(1_000)  # the page's socket is open

    index = next(i for i, word in enumerate(transcript.result.data["words"]) if word["text"] == "secret")
    with signed_in(site.base_url, session_cookie(user)) as http:
        edit = http.post(
            f"/transcripts/{transcript.pk}/edit/words/", data={"first": index, "last": index, "text": "[redacted]"}
        )
        assert edit.status_code == 200, edit.text
        page.wait_for_function(
            "document.getElementById('viewer-transcript')?.textContent.includes('[redacted]')", timeout=15_000
        )
        assert "secret" not in page.content()
        page.wait_for_timeout(1_000)  # the reloaded page's socket is open
        assert http.post(f"/live/links/{new.link.pk}/revoke/").status_code == 200
    page.locator("#viewer-gone").wait_for(timeout=15_000)
    assert "no longer works" in page.locator("#viewer-gone").text_content()
    assert page.locator("#viewer-transcript").count() == 0
