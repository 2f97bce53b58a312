"""Weak passwords are refused: common words and the site's name with digits
added (Django's own list compares whole passwords, so "Verbatim1" passed),
short ones, and ones like the user's name or address."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

User = get_user_model()


@pytest.mark.parametrize(
    "password",
    [
        "Verbatim1",
        "Verbatim2024!",
        "verbatim-12345",
        "Password1234",
        "!!Sunshine2026!!",
        "Transcripts2026",
        "short1!Ab",
    ],
)
def test_guessable_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password, User(username="erin", email="erin@example.com"))


@pytest.mark.parametrize("password", ["erin.walker1990", "Walker-Erin-2024!"])
def test_passwords_like_the_users_own_name_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password, User(username="erin.walker", email="erin.walker@example.com"))


@pytest.mark.parametrize("password", ["a long and unusual passphrase", "copper kettle mountain 7", "Xq7#vL2m!pR9wT"])
def test_strong_passwords_pass(password):
    validate_password(password, User(username="erin", email="erin@example.com"))


@pytest.mark.django_db
def test_sign_up_shows_why_a_password_is_refused(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "erin", "email": "erin@example.com", "password1": "Verbatim1", "password2": "Verbatim1"},
    )
    assert response.status_code == 200
    assert not User.objects.exists()
    assert "at least 12 characters" in response.content.decode()
