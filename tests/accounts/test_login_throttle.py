"""Login throttling (django-axes): repeated failures lock an account and an
address out, on the login page and /admin/login/, with a page that says so;
the lockout ends after its cool-off, and a password reset lifts it for the
account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests import support

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
RIGHT = "correct-horse-battery"


def attempt(client: Client, username: str, password: str, path: str = LOGIN, ip: str = "10.0.0.1"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(response) -> bool:
    return response.status_code == 302


@pytest.fixture
def limit(settings) -> int:
    return settings.LOGIN_FAILURE_LIMIT


@pytest.mark.django_db
def test_many_wrong_passwords_then_the_right_one_is_refused(client, user, limit):
    answers = [attempt(client, "alice", "wrong").status_code for _ in range(limit)]
    assert answers == [200] * (limit - 1) + [429]
    response = attempt(client, "alice", RIGHT)
    assert response.status_code == 429 and not logged_in(response)
    page = response.content.decode()
    assert "Too many failed logins" in page and "try again in 15 minutes" in page
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_few_mistakes_do_not_lock_anyone_out(client, user, limit):
    for _ in range(limit - 1):
        attempt(client, "alice", "wrong")
    assert logged_in(attempt(client, "alice", RIGHT))


@pytest.mark.django_db
def test_an_account_is_locked_whichever_addresses_the_guesses_come_from(client, user, limit):
    for number in range(limit):
        attempt(client, "alice", "wrong", ip=f"10.0.1.{number}")
    assert attempt(client, "alice", RIGHT, ip="10.0.2.1").status_code == 429


@pytest.mark.django_db
def test_an_address_is_locked_whichever_accounts_it_guesses_at(client, user, other_user, limit):
    for number in range(limit):
        attempt(client, f"user{number}", "wrong", ip="10.0.3.1")
    assert attempt(client, "bob", RIGHT, ip="10.0.3.1").status_code == 429
    assert logged_in(attempt(Client(), "bob", RIGHT, ip="10.0.3.2"))


@pytest.mark.django_db
def test_the_admin_login_is_throttled_too(client, django_user_model, limit):
    django_user_model.objects.create_user("root", "root@example.com", RIGHT, is_staff=True, is_superuser=True)
    for _ in range(limit):
        attempt(client, "root", "wrong", ADMIN_LOGIN)
    response = attempt(client, "root", RIGHT, ADMIN_LOGIN)
    assert response.status_code == 429 and "Too many failed logins" in response.content.decode()


@pytest.mark.django_db
def test_the_lockout_ends_after_its_cool_off(client, user, limit, settings):
    for _ in range(limit):
        attempt(client, "alice", "wrong")
    assert attempt(client, "alice", RIGHT).status_code == 429
    earlier = timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES + 1)
    AccessAttempt.objects.update(attempt_time=earlier)
    assert logged_in(attempt(client, "alice", RIGHT))


@pytest.mark.django_db
def test_a_password_reset_lifts_the_accounts_lockout(client, user, limit):
    for number in range(limit):
        attempt(client, "alice", "wrong", ip=f"10.0.4.{number}")
    Client().post("/accounts/password_reset/", {"email": "alice@example.com"})
    support.wait_until(lambda: mail.outbox, 10, message="the reset mail")
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line).strip()
    owner = Client()
    form_url = owner.get(link, follow=True).redirect_chain[-1][0]
    new = "a brand new passphrase for alice"
    response = owner.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert logged_in(attempt(Client(), "alice", new, ip="10.0.5.1"))


@pytest.mark.django_db
def test_a_refusal_is_answered_after_a_pause_with_the_database_connection_given_back(
    client, user, limit, settings, monkeypatch
):
    from django.db import connection

    settings.REFUSED_LOGIN_DELAY_SECONDS = 2.0
    pauses = []
    monkeypatch.setattr("accounts.throttle.time.sleep", pauses.append)
    monkeypatch.setattr("accounts.throttle.connections.close_all", lambda: pauses.append(("closed", connection)))
    for _ in range(limit - 1):
        attempt(client, "alice", "wrong")
    assert pauses == []  # mistakes are answered at once
    assert attempt(client, "alice", "wrong").status_code == 429
    assert pauses == [("closed", connection), 2.0]
