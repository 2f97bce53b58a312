"""Language codes: one standard form for what engines report, and names for
the language selects.

What engines report ("eng" from Scribe's batch API, "en" from its realtime
API and faster-whisper) is stored as the shortest standard tag (BCP 47, so
ISO 639-1 where a language has one), the form the pages offer.
Macrolanguages are folded ("cmn" -> "zh"). The engines say which codes they
can transcribe (engines.base.Capabilities); this only names them."""

from __future__ import annotations

import langcodes
from django.conf.locale import LANG_INFO

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


# The languages the upload page offered before engines declared their own,
# listed first (the common ones), in this order.
COMMON = (
    "en", "es", "fr", "de", "it", "pt", "nl", "pl", "sv", "da", "no", "fi",
    "cs", "ru", "uk", "tr", "el", "ar", "he", "hi", "ja", "ko", "zh",
)  # fmt: skip
# Whisper's languages that Django's locale table does not name.
EXTRA_NAMES = {
    "am": "Amharic", "as": "Assamese", "ba": "Bashkir", "bo": "Tibetan", "fo": "Faroese",
    "gu": "Gujarati", "ha": "Hausa", "haw": "Hawaiian", "ht": "Haitian Creole", "jw": "Javanese",
    "la": "Latin", "ln": "Lingala", "lo": "Lao", "mg": "Malagasy", "mi": "Maori", "mt": "Maltese",
    "oc": "Occitan", "ps": "Pashto", "sa": "Sanskrit", "sd": "Sindhi", "si": "Sinhala", "sn": "Shona",
    "so": "Somali", "su": "Sundanese", "tl": "Tagalog", "yi": "Yiddish", "yo": "Yoruba",
    "zh": "Chinese", "yue": "Cantonese",
}  # fmt: skip


def known(code: str) -> bool:
    """A language code some engine could transcribe (Whisper's, Scribe's)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return code in COMMON or code in _LANGUAGE_CODES


def name(code: str) -> str:
    if code in EXTRA_NAMES:
        return EXTRA_NAMES[code]
    info = LANG_INFO.get(code)
    return info["name"] if info and "name" in info else code


def ordered(codes) -> list[str]:
    """The common languages first, in their usual order, then the rest by name."""
    codes = set(codes)
    first = [code for code in COMMON if code in codes]
    rest = sorted(codes - set(first), key=name)
    return first + rest


def choices(codes) -> list[tuple[str, str]]:
    return [(code, name(code)) for code in ordered(codes)]
