"""One language code standard throughout: what engines report ("eng" from
Scribe's batch API, "en" from its realtime API and faster-whisper) is stored
as the shortest standard tag (BCP 47, so ISO 639-1 where a language has one),
the form the upload page offers. Macrolanguages are folded ("cmn" -> "zh")."""

from __future__ import annotations

import langcodes

MAX_LENGTH = 16  # Transcript.language_code


def normalise_language(code: str | None) -> str:
    """The standard tag for `code`; an unknown code is kept lower-cased, and
    '' stays '' (not detected)."""
    code = (code or "").strip()
    if not code:
        return ""
    try:
        return langcodes.standardize_tag(code, macro=True)[:MAX_LENGTH]
    except ValueError:  # a malformed tag (LanguageTagError is one)
        return code.lower()[:MAX_LENGTH]


def to_alpha3(code: str) -> str:
    """The ISO 639-3 code (what Scribe's batch API reports), for the
    Scribe-compatible API; '' stays ''."""
    if not code:
        return ""
    try:
        return langcodes.Language.get(code).to_alpha3()
    except (ValueError, LookupError):
        return code
