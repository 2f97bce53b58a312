"""A small, fast PDF writer for transcripts in the PDF core fonts.

fpdf2 lays out text by re-measuring every line prefix and takes seconds for
a three-hour transcript; text documents need only greedy line breaking,
which this does with cached word widths and writes the page streams
directly. It covers Windows-1252 text (the core fonts' encoding);
`exports.to_pdf` hands anything else to fpdf2 with a Unicode font.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

PAGE_WIDTH, PAGE_HEIGHT = 595.28, 841.89  # A4 in points
MARGIN = 56.0
ENCODING = "cp1252"


def can_encode(text: str) -> bool:
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def _widths(bold: bool) -> dict[str, int]:
    from fpdf.fonts import CORE_FONTS_CHARWIDTHS

    return CORE_FONTS_CHARWIDTHS["helveticaB" if bold else "helvetica"]


@dataclass
class Writer:
    pages: list[list[str]] = field(default_factory=list)
    y: float = 0.0
    _measure_cache: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._new_page()

    def _new_page(self) -> None:
        self.pages.append([])
        self.y = PAGE_HEIGHT - MARGIN

    def measure(self, word: str, size: float, bold: bool) -> float:
        key = (word, bold)
        if key not in self._measure_cache:
            table = _widths(bold)
            self._measure_cache[key] = sum(table.get(char, 556) for char in word)
        return self._measure_cache[key] * size / 1000

    def space(self, points: float) -> None:
        self.y -= points

    def paragraph(self, text: str, *, size: float = 11, bold: bool = False, gray: float = 0.0) -> None:
        leading = size * 1.35
        for line in self._wrap(text, size, bold):
            if self.y - leading < MARGIN:
                self._new_page()
            self.y -= leading
            font = "F2" if bold else "F1"
            position = f"{MARGIN:g} {self.y:.2f}"
            self.pages[-1].append(f"BT /{font} {size:g} Tf {gray:g} g {position} Td ({_escape(line)}) Tj ET")

    def _wrap(self, text: str, size: float, bold: bool) -> list[str]:
        width = PAGE_WIDTH - 2 * MARGIN
        space = self.measure(" ", size, bold)
        lines, current, used = [], [], 0.0
        for word in text.split():
            word_width = self.measure(word, size, bold)
            if current and used + space + word_width > width:
                lines.append(" ".join(current))
                current, used = [], 0.0
            used += (space if current else 0.0) + word_width
            current.append(word)
        if current:
            lines.append(" ".join(current))
        return lines

    def output(self, title: str) -> bytes:
        objects: list[bytes] = []  # object n is objects[n - 1]
        objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
        objects.append(b"")  # the page tree, filled in once the pages are numbered
        objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
        objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
        objects.append(b"<< /Title (" + _escape(title).encode(ENCODING, "replace") + b") /Producer (Verbatim) >>")
        page_ids = []
        for commands in self.pages:
            stream = zlib.compress("\n".join(commands).encode(ENCODING, "replace"))
            objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream")
            content_id = len(objects)
            objects.append(
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Contents %d 0 R "
                b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>" % (PAGE_WIDTH, PAGE_HEIGHT, content_id)
            )
            page_ids.append(len(objects))
        kids = " ".join(f"{number} 0 R" for number in page_ids)
        objects[1] = f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()
        return _serialise(objects)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").replace("\r", " ").replace("\n", " ")


def _serialise(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
