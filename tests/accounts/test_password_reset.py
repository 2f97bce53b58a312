"""Password reset answers the same whether or not an account uses the
address, does not wait on the mail server to answer, and is throttled per
client and per address."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from tests import support

RESET = "/accounts/password_reset/"


def reset(client, email: str, ip: str = "10.1.0.1"):
    return client.post(RESET, {"email": email}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_known_and_unknown_addresses_get_the_same_answer(client, user):
    known = reset(client, "ALICE@example.com")
    unknown = reset(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    done = client.get(known["Location"]).content.decode()
    assert "If an account uses that address" in done
    support.wait_until(lambda: mail.outbox, 10, message="the reset mail")
    assert [message.to for message in mail.outbox] == [["alice@example.com"]]


class BlockedBackend(EmailBackend):
    """A mail server that does not answer until the test lets it."""

    release = threading.Event()

    def send_messages(self, messages):
        self.release.wait(30)
        return super().send_messages(messages)


@pytest.mark.django_db
def test_the_answer_does_not_wait_on_the_mail_server(client, user, settings):
    settings.EMAIL_BACKEND = f"{__name__}.BlockedBackend"
    BlockedBackend.release.clear()
    try:
        response = reset(client, "alice@example.com")
        assert response.status_code == 302 and mail.outbox == []  # answered; the mail is still waiting
    finally:
        BlockedBackend.release.set()
    support.wait_until(lambda: mail.outbox, 10, message="the reset mail")


@pytest.mark.django_db
def test_resets_for_one_address_are_throttled_whether_or_not_it_has_an_account(client, user, settings):
    for email in ("alice@example.com", "nobody@example.com"):
        answers = [reset(client, email.upper() if n % 2 else email, ip=f"10.1.1.{n}").status_code for n in range(4)]
        assert answers == [302, 302, 302, 429]
    page = reset(client, "alice@example.com", ip="10.1.2.1").content.decode()
    assert "Too many password-reset requests" in page


@pytest.mark.django_db
def test_resets_from_one_client_are_throttled(client, user):
    answers = [reset(client, f"person{n}@example.com", ip="10.1.3.1").status_code for n in range(11)]
    assert answers == [302] * 10 + [429]
    assert reset(client, "alice@example.com", ip="10.1.3.2").status_code == 302
