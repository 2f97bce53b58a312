"""The Scribe upstream's context for a new socket (`previous_text`)."""

from __future__ import annotations

from realtime.upstreams.scribe import PREVIOUS_TEXT_CHARS, text_tail


def test_previous_text_is_the_last_whole_words_within_scribes_limit():
    assert text_tail("  alpha\n bravo  charlie ") == "alpha bravo charlie"
    long = "Please remember to water the garden every morning before the sun gets too hot."
    tail = text_tail(long)
    assert tail == "garden every morning before the sun gets too hot."
    assert len(tail) <= PREVIOUS_TEXT_CHARS and long.endswith(tail)
    assert text_tail("abc defgh", limit=5) == "defgh"  # the cut falls on a word boundary: the word is kept
    assert text_tail("abc defgh", limit=4) == ""  # no whole word fits
