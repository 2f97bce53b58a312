"""With DEBUG off (the default now, even for `make run`), a missing page or
a crash shows a page of the site's own: what happened and where to go,
never Django's technical page with the URL list or a traceback."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_missing_page_is_a_friendly_404(client):
    response = client.get("/no/such/page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in page
    assert 'href="/"' in page  # the way back
    assert "URLconf" not in page
    assert "/no/such/page/" not in page


def test_a_revoked_share_link_is_the_same_friendly_404(client):
    response = client.get("/s/not-a-real-token/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_an_api_path_keeps_its_problem_details(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")


def test_a_crash_is_a_friendly_500_without_a_traceback(monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("project.views.render", crash)
    response = Client(raise_request_exception=False).get("/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in page
    assert "secret internals" not in page
    assert "Traceback" not in page
