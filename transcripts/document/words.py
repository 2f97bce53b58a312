"""Words as search matches them: lower case, without punctuation."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)


def normalise_words(text: str) -> list[str]:
    """Lower-cased word tokens without punctuation (for matching)."""
    return [token.lower() for token in _TOKEN.findall(text)]
