"""In a real browser: the upload and live pages offer only what the chosen
engine can do, and switch as the engine select changes (Scribe: every
option; the local engine with tiny.en and without the speakers extra:
English only, no speakers, no audio events)."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def sign_up(page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/signup/")
    page.fill("input[name=username]", "options-user")
    page.fill("input[name=email]", "options@example.com")
    page.fill("input[name=password1]", "a-long-unusual-passphrase-42")
    page.fill("input[name=password2]", "a-long-unusual-passphrase-42")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/transcripts/"))


def enabled_languages(page, select: str) -> list[str]:
    return page.eval_on_selector(select, "s => [...s.options].filter(o => !o.disabled).map(o => o.value)")


def test_the_pages_offer_what_the_chosen_engine_can_do(make_site, page):
    # Scribe's key is never used here: only the options are looked at.
    site = make_site(worker=False, ELEVENLABS_API_KEY="unused", LOCAL_SPEAKERS="off")
    sign_up(page, site.base_url)

    page.goto(f"{site.base_url}/transcripts/upload/")
    page.select_option("select[name=engine]", "scribe")
    assert page.is_visible("input[name=diarize]") and page.is_visible("input[name=tag_audio_events]")
    assert {"", "en", "fr", "ja"} <= set(enabled_languages(page, "select[name=language]"))
    page.check("input[name=tag_audio_events]")
    page.select_option("select[name=language]", "fr")

    page.select_option("select[name=engine]", "local")
    assert not page.is_visible("input[name=diarize]") and not page.is_visible("input[name=num_speakers]")
    assert not page.is_visible("input[name=tag_audio_events]")
    assert not page.is_checked("input[name=tag_audio_events]")  # not sent as "on" either
    assert page.is_visible("textarea[name=keyterms]") and page.is_visible("input[name=multichannel]")
    assert enabled_languages(page, "select[name=language]") == ["en"]
    assert page.input_value("select[name=language]") == "en"  # French was not kept

    page.select_option("select[name=engine]", "scribe")
    assert page.is_visible("input[name=diarize]")

    page.goto(f"{site.base_url}/live/")
    # Echo cancellation, noise suppression and gain control cost accuracy on a clean microphone: off unless asked.
    assert not page.is_checked("#live-cleanup")
    page.select_option("#live-engine", "local")
    assert enabled_languages(page, "#live-language") == ["en"]
    page.select_option("#live-engine", "scribe")
    assert "fr" in enabled_languages(page, "#live-language")
