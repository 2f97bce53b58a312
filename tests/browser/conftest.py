"""The browser tier: its own pytest run (`make test-browser`, or
`pytest tests/browser`), never collected with the other tiers."""

from __future__ import annotations

import os

import pytest

from tests import support

# Playwright's sync API keeps an event loop running in the test thread while
# a browser is open, and Django then refuses the ORM calls these tests make
# from that same thread (which are synchronous and safe). Set here, at
# collection, for this tier's process only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium():
    """A Chromium per test (its event loop lives only as long as the test)."""
    if not support.have_chromium():
        pytest.fail("Debian's chromium is required for browser tests (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Playwright polls wait_for_function's predicate with eval, which the site's
# Content-Security-Policy forbids (script-src 'self'): the tests' pages bypass
# it. test_csp_pages.py checks the policy itself on a strict page.
TEST_CONTEXT = {"bypass_csp": True}


@pytest.fixture
def page(chromium):
    context = chromium.new_context(**TEST_CONTEXT)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def strict_page(chromium):
    """A page under the site's Content-Security-Policy, as people's browsers are."""
    context = chromium.new_context()
    page = context.new_page()
    yield page
    context.close()
