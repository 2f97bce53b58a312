"""Who may sign up, and the sign-up workflow: the first account becomes the
administrator, later ones need an invite unless sign-up is open."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import TextChoices
from django.utils import timezone

from accounts.models import Invite

# An arbitrary constant naming the Postgres advisory lock that serialises
# sign-ups, so two people signing up at once cannot both be "the first".
SIGNUP_LOCK = 0x5E9B1D


class Policy(TextChoices):
    OPEN = "open", "Anyone can sign up"
    INVITE = "invite", "By invitation"
    CLOSED = "closed", "Closed"


class SignupRefused(Exception):
    """str(self) is the message for the page."""


def policy() -> Policy:
    """SIGNUP when set; unset, open only until the first account exists.
    Under `invite`, the first account may still sign up: somebody has to be
    the administrator who sends invites. `closed` is closed (the operator
    creates accounts with `manage.py createsuperuser` and the admin)."""
    if settings.SIGNUP == Policy.CLOSED:
        return Policy.CLOSED
    if not get_user_model().objects.exists():
        return Policy.OPEN
    return Policy(settings.SIGNUP or Policy.INVITE)


def usable_invite(token: str) -> Invite | None:
    return Invite.objects.for_token(token).first()


def create_account(form, invite: Invite | None = None):
    """Save the sign-up form's user under the policy in force at this moment.
    The first account is made a superuser; an invite is used up, once."""
    user = form.save(commit=False)  # hashes the password outside the lock
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SIGNUP_LOCK])
        first = not get_user_model().objects.exists()
        current = policy()
        if current == Policy.CLOSED or (current == Policy.INVITE and invite is None):
            raise SignupRefused(closed_message(current))
        user.is_staff = user.is_superuser = first
        user.save()
        if invite is not None and not invite.claim(user):
            raise SignupRefused("This invite link was used already.")
    return user


def closed_message(current: Policy) -> str:
    if current == Policy.CLOSED:
        return "Sign-up is closed on this server. An administrator can create an account for you."
    return "Sign-up on this server is by invitation: ask an administrator for an invite link."


def create_invite(created_by, *, note: str = "", expires_in: timedelta | None = None) -> tuple[Invite, str]:
    """(the invite, its token: show the link now, it cannot be recovered)."""
    lifetime = expires_in or timedelta(days=settings.INVITE_DAYS)
    return Invite.issue(created_by=created_by, note=note[:200], expires_at=timezone.now() + lifetime)
