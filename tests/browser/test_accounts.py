"""Accounts in a real browser against a real server: the first sign-up makes
the administrator, who invites the next person; sign-up without an invite is
refused; repeated wrong passwords get the lockout page; the account page
shows usage and limits, and an upload past the storage quota says why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.browser.conftest import TEST_CONTEXT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a long and unusual passphrase"


def sign_up(page, url: str, username: str) -> None:
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_email", f"{username}@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("main form button[type=submit]")


def screenshot(page, name: str) -> None:
    page.screenshot(path=str(Path(settings.DATA_DIR) / name), full_page=True)


def test_the_first_account_invites_the_next_and_strangers_are_turned_away(make_site, chromium):
    site = make_site(worker=False)
    admin = chromium.new_context(**TEST_CONTEXT).new_page()
    sign_up(admin, f"{site.base_url}/accounts/signup/", "founder")
    admin.wait_for_url("**/transcripts/upload/")
    assert "you are its administrator" in admin.inner_text(".messages")

    admin.goto(f"{site.base_url}/accounts/")
    admin.fill("#id_note", "Robin from support")
    admin.click("#invites button[type=submit]")
    message = admin.inner_text(".messages")
    link = re.search(r"https?://\S+/accounts/signup/[\w-]+/", message).group(0)
    assert admin.inner_text("#invites tbody tr .state") == "open"
    screenshot(admin, "account-invites.png")

    stranger = chromium.new_context(**TEST_CONTEXT).new_page()
    stranger.goto(f"{site.base_url}/accounts/signup/")
    assert "by invitation" in stranger.inner_text("#signup-message")
    assert stranger.locator("#id_password1").count() == 0

    invited = chromium.new_context(**TEST_CONTEXT).new_page()
    sign_up(invited, link, "robin")
    invited.wait_for_url("**/transcripts/upload/")
    robin = get_user_model().objects.get(username="robin")
    assert not robin.is_staff and robin.invite.note == "Robin from support"

    stranger.goto(link)
    assert "not valid" in stranger.inner_text("#signup-message")
    admin.goto(f"{site.base_url}/accounts/")
    assert admin.inner_text("#invites tbody tr .state") == "used by robin"


def test_repeated_wrong_passwords_show_the_lockout_page(make_site, page, django_user_model):
    site = make_site(worker=False, LOGIN_FAILURE_LIMIT="3", LOGIN_LOCKOUT_MINUTES="5")
    # The server's hashers do not include the test settings' fast MD5 one.
    password = PBKDF2PasswordHasher().encode(PASSWORD, "browsersalt", iterations=1000)
    django_user_model.objects.create(username="kim", email="kim@example.com", password=password)
    for _ in range(3):
        page.goto(f"{site.base_url}/accounts/login/")
        page.fill("#id_username", "kim")
        page.fill("#id_password", "not my password")
        page.click("main button[type=submit]")
    message = page.inner_text("#lockout-message")
    assert "after 3 failed attempts" in message and "try again in 5 minutes" in message
    screenshot(page, "lockout.png")

    page.goto(f"{site.base_url}/accounts/login/")  # the right password is refused too, for now
    page.fill("#id_username", "kim")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    assert page.locator("#lockout-message").is_visible()
    page.click("text=reset it")
    page.wait_for_url("**/accounts/password_reset/")


def test_the_account_page_shows_usage_and_an_upload_past_the_quota_says_why(make_site, page, speech):
    site = make_site(worker=False, QUOTA_STORAGE="50KB", QUOTA_MONTHLY_MINUTES="local=60", QUOTA_ACTIVE_JOBS="5")
    sign_up(page, f"{site.base_url}/accounts/signup/", "lee")
    page.wait_for_url("**/transcripts/upload/")
    page.wait_for_function("document.body.dataset.jobsSocket === 'open'", timeout=15000)
    page.set_input_files("#file-input", str(speech("This recording is larger than the quota allows.")))
    error = page.locator('#uploads [data-role="error"]')
    error.wait_for(timeout=30000)
    assert re.search(r"This needs \d+ KB, but you have 0 bytes of your 50 KB storage in use", error.inner_text())

    page.goto(f"{site.base_url}/accounts/")
    rows = {
        row.locator("th").inner_text(): row.locator("td").all_inner_texts()
        for row in page.locator("#usage tbody tr").all()
    }
    assert rows["Storage"] == ["0 bytes", "50 KB"]
    assert rows["Local (offline) this month"] == ["0:00", "1:00:00"]
    assert rows["Jobs queued or running"] == ["0", "5"]
    assert rows["Live sessions open"] == ["0", "2"]
    screenshot(page, "usage.png")
