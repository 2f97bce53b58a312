"""The transcript page in a real browser against a real server (Daphne on the
test database): the synced player, editing, library search and share links."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import TEST_CONTEXT
from tests.transcripts.factories import done_transcript, stored_media, words_from
from transcripts.models import TranscriptResult

PASSWORD = "correct-horse-battery"
pytestmark = [pytest.mark.browser, pytest.mark.slow]
SENTENCE = "Good morning everyone. Thanks for joining the quarterly budget review today."


@pytest.fixture
def site(make_site):
    return make_site(worker=False)


@pytest.fixture
def owner(site, django_user_model):
    # The server runs the real settings, whose hashers do not include the
    # test settings' fast MD5 one: store a hash it can check.
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    password = PBKDF2PasswordHasher().encode(PASSWORD, "browsersalt", iterations=1000)
    return django_user_model.objects.create(username="dana", email="dana@example.com", password=password)


@pytest.fixture
def meeting(owner, speech):
    """A done transcript of a real recording: two speakers, words every 0.4 s."""
    media = stored_media(owner, speech(SENTENCE))
    words = SENTENCE.split()
    spec = [
        ("speaker_0" if i < 3 else "speaker_1", word, round(0.2 + i * 0.35, 2), round(0.5 + i * 0.35, 2))
        for i, word in enumerate(words)
    ]
    spec += [("speaker_0", "Agreed.", 4.4, 4.7)]
    return done_transcript(owner, words_from(spec), title="Budget review", media=media)


def log_in(page, site, username="dana"):
    page.goto(f"{site.base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/transcripts/.*"))


def word(page, text: str):
    return page.locator("#transcript [data-i]", has_text=re.compile(f"^{re.escape(text)}$")).first


def player_time(page) -> float:
    return page.evaluate("document.getElementById('player').currentTime")


def test_clicking_a_word_seeks_the_player_and_highlights_it(site, page, meeting):
    log_in(page, site)
    page.goto(f"{site.base_url}/transcripts/{meeting.pk}/")
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    target = word(page, "quarterly")
    start = float(target.get_attribute("data-s"))
    target.click()
    page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {start}) < 0.6")
    page.evaluate("document.getElementById('player').pause()")
    assert abs(player_time(page) - start) < 0.6
    assert "current" in (word(page, "quarterly").get_attribute("class") or "") or "current" in (
        word(page, "budget").get_attribute("class") or ""
    )
    # Keyboard: ArrowLeft skips back five seconds (clamped at 0).
    page.locator("h1").click()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("document.getElementById('player').currentTime < 0.5")


def test_rename_a_speaker_shows_everywhere_after_reload(site, page, meeting):
    log_in(page, site)
    page.goto(f"{site.base_url}/transcripts/{meeting.pk}/")
    page.click("#speakers-panel summary")
    form = page.locator("#speakers form", has=page.locator("input[value=speaker_0]"))
    form.locator("input[name=name]").fill("Dana")
    form.locator("button").click()
    page.wait_for_function(
        "[...document.querySelectorAll('#transcript .speaker')].filter(e => e.textContent === 'Dana').length === 2"
    )
    page.reload()
    speakers = page.locator("#transcript .turn .speaker").all_text_contents()
    assert speakers == ["Dana", "Speaker 2", "Dana"]
    assert "speaker_0" not in page.locator("#transcript").inner_text()


def test_correct_a_word_keeps_neighbour_timings(site, page, meeting):
    log_in(page, site)
    page.goto(f"{site.base_url}/transcripts/{meeting.pk}/")
    before = page.evaluate("[...document.querySelectorAll('#transcript [data-i]')].map(e => e.dataset.s)")
    word(page, "budget").dblclick()
    editor = page.locator("input.word-edit")
    editor.fill("finance")
    editor.press("Enter")
    page.wait_for_selector("#transcript [data-i]:text-is('finance')")
    page.reload()
    assert word(page, "finance").count() == 1 and word(page, "budget").count() == 0
    after = page.evaluate("[...document.querySelectorAll('#transcript [data-i]')].map(e => e.dataset.s)")
    assert after == before
    result = TranscriptResult.objects.get(transcript=meeting)
    assert "quarterly finance review" in result.text and "quarterly budget review" in result.original["text"]


def test_search_the_library_and_land_at_the_moment(site, page, meeting, owner):
    done_transcript(owner, words_from([("speaker_0", "unrelated", 0, 0.5)]), title="Other call")
    log_in(page, site)
    page.fill("input[name=q]", "budget review")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("#hits")
    assert page.locator("#hits li").count() == 1
    assert page.locator("#hits mark").inner_text() == "budget review"
    page.click("#hits a.title")
    page.wait_for_url(re.compile(rf".*/transcripts/{meeting.pk}/\?t=.*"))
    expected = float(word(page, "budget").get_attribute("data-s"))
    page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {expected}) < 0.05")
    assert "current" in word(page, "budget").get_attribute("class")


def test_share_link_opens_logged_out_and_revoking_answers_404(site, page, chromium, meeting):
    log_in(page, site)
    page.goto(f"{site.base_url}/transcripts/{meeting.pk}/")
    page.click("text=Share")
    page.check("input[name=allow_download]")
    page.click("#create-share")
    url = page.input_value("#new-share-url")
    assert url.startswith(site.base_url + "/s/")

    stranger = chromium.new_context(**TEST_CONTEXT)
    try:
        visitor = stranger.new_page()
        response = visitor.goto(url)
        assert response.status == 200
        assert visitor.locator("h1").inner_text() == "Budget review"
        assert "quarterly budget review" in visitor.locator("#transcript").inner_text()
        assert visitor.locator("meta[name=robots]").get_attribute("content").startswith("noindex")
        assert visitor.locator("text=Log out").count() == 0 and visitor.locator("text=dana").count() == 0
        visitor.wait_for_function("document.getElementById('player').readyState >= 1")
        word(visitor, "budget").click()
        visitor.wait_for_function("document.getElementById('player').currentTime > 2")
        assert visitor.locator("text=PDF").count() == 1

        page.click("#share-links button:text('Revoke')")
        page.wait_for_selector("#share-links td:text('revoked')")
        assert visitor.reload().status == 404
        assert visitor.goto(url + "media/").status == 404
    finally:
        stranger.close()
