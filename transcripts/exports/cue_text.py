"""A cue's text, made safe for its subtitle format.

In both formats a blank line ends a cue, so a line break inside a word (an
edit can put one there) becomes a space. WebVTT cue text is markup: `&`,
`<` and `>` are written as character references (which also keeps `-->`,
forbidden in cue text, out). SubRip has no escapes: `-->` is broken so that
no line of text can be read as a timing line.
"""

from __future__ import annotations

import re

_LINE_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029\x0b\x0c\x85]+\s*")
_VTT_REFERENCES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def one_line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", text)


def srt_line(text: str) -> str:
    return one_line(text).replace("-->", "->")


def vtt_line(text: str) -> str:
    return "".join(_VTT_REFERENCES.get(character, character) for character in one_line(text))
