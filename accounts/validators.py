"""A password check Django's own validators miss: a common password or the
site's name with digits or symbols added ("Verbatim1", "Password1234!").
Django's common-password check compares the whole password with its list, so
"verbatim" is refused but "Verbatim1" passes."""

from __future__ import annotations

import re

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError

# Words anyone guessing a password on this site tries first.
CONTEXT_WORDS = frozenset({"verbatim", "transcript", "transcripts", "transcribe", "scribe", "whisper", "admin"})
# What people add around a word to satisfy "a digit and a symbol" rules.
DECORATION = re.compile(r"^[\W\d_]+|[\W\d_]+$")


class GuessablePasswordValidator:
    def __init__(self) -> None:
        self.common = CommonPasswordValidator().passwords

    def validate(self, password: str, user=None) -> None:
        core = DECORATION.sub("", password.lower().strip())
        if core and (core in self.common or core in CONTEXT_WORDS or core in personal_words(user)):
            raise ValidationError(
                "This password is a common word or name with a few digits or symbols added; "
                "those are among the first guesses. A few unrelated words make a strong password.",
                code="password_guessable",
            )

    def get_help_text(self) -> str:
        return "Your password can’t be a common word or name with digits or symbols added."


def personal_words(user) -> set[str]:
    if user is None:
        return set()
    words = {str(getattr(user, "username", "") or "").lower()}
    email = str(getattr(user, "email", "") or "").lower()
    words.add(email.partition("@")[0])
    return {word for word in words if word}
