"""Account forms: sign-up that never says which account exists, invites, and
a password-reset form whose answer does not wait on the mail server."""

from __future__ import annotations

import logging
import threading

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm
from django.db.models import Q

log = logging.getLogger(__name__)

# One message whether the username or the address is taken, so the form
# cannot be used to find out who has an account here.
TAKEN_MESSAGE = (
    "This username or email address cannot be used. If you already have an account, "
    "log in or reset your password; otherwise choose another username."
)


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="For password resets.")

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def clean_username(self) -> str:
        # Django's own check says "A user with that username already exists":
        # the taken case is answered in clean(), with one message for both.
        return self.cleaned_data.get("username")

    def clean_email(self) -> str:
        return get_user_model().objects.normalize_email(self.cleaned_data["email"].strip())

    def validate_unique(self) -> None:
        """See clean(); the database's unique indexes still guard a race."""

    def clean(self) -> dict:
        cleaned = super().clean()
        username, email = cleaned.get("username"), cleaned.get("email")
        if username and email and is_taken(username, email):
            raise forms.ValidationError(TAKEN_MESSAGE, code="taken")
        return cleaned


def is_taken(username: str, email: str) -> bool:
    return get_user_model().objects.filter(Q(username__iexact=username) | Q(email__iexact=email)).exists()


class InviteForm(forms.Form):
    note = forms.CharField(max_length=200, required=False, label="For", help_text="Optional: who it is for.")


class BackgroundPasswordResetForm(PasswordResetForm):
    """Sends the reset mail on a thread of its own: the answer is the same
    page, at the same speed, whether or not an account uses the address.
    (Waiting on SMTP only when an account exists would tell them apart.)"""

    def send_mail(self, *args, **kwargs) -> None:
        send = super().send_mail

        def deliver() -> None:
            try:
                send(*args, **kwargs)
            except Exception:
                log.exception("Could not send a password-reset mail")

        threading.Thread(target=deliver, name="password-reset-mail", daemon=True).start()
