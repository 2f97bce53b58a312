"""Exports: pure functions from a canonical transcript to file bytes.

Everything reads only the canonical data (edits included), so what the page
shows is what every format contains.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from transcripts.document import canonical
from transcripts.document.speakers import labels_shown, speaker_label
from transcripts.exports import docx, pdf
from transcripts.exports.cue_text import srt_line, vtt_line
from transcripts.exports.subtitles import CueOptions, build_cues, timestamp
from transcripts.formatting import clock

# A Unicode TrueType font for PDFs when the system has one (Debian's
# fonts-dejavu-core); otherwise the PDF core font, which only covers Latin-1.
PDF_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


@dataclass(frozen=True)
class Export:
    content: bytes
    content_type: str
    extension: str


@dataclass(frozen=True)
class TextOptions:
    # None: label turns when there are speakers to tell apart (speakers.labels_shown).
    speakers: bool | None = None
    timestamps: bool = True


def _turn_heading(data: dict, turn: canonical.Turn, options: TextOptions) -> str:
    parts = []
    if labels_shown(data) if options.speakers is None else options.speakers:
        label = speaker_label(data, turn.speaker_id)
        if turn.channel_index is not None:
            label += f" (channel {turn.channel_index + 1})"
        parts.append(label)
    if options.timestamps:
        parts.append(f"[{clock(turn.start)}]")
    return " ".join(parts)


def to_txt(data: dict, options: TextOptions = TextOptions()) -> bytes:
    blocks = []
    for turn in canonical.turns(data):
        heading = _turn_heading(data, turn, options)
        blocks.append(f"{heading}\n{turn.text}" if heading else turn.text)
    return ("\n\n".join(blocks) + "\n").encode()


def to_srt(data: dict, options: CueOptions = CueOptions()) -> bytes:
    out = io.StringIO()
    for number, cue in enumerate(build_cues(data, options), start=1):
        out.write(f"{number}\n{timestamp(cue.start, ',')} --> {timestamp(cue.end, ',')}\n")
        out.write("\n".join(srt_line(line) for line in cue.lines) + "\n\n")
    return out.getvalue().encode()


def to_vtt(data: dict, options: CueOptions = CueOptions()) -> bytes:
    out = io.StringIO()
    out.write("WEBVTT\n\n")
    for cue in build_cues(data, options):
        out.write(f"{timestamp(cue.start, '.')} --> {timestamp(cue.end, '.')}\n")
        out.write("\n".join(vtt_line(line) for line in cue.lines) + "\n\n")
    return out.getvalue().encode()


def to_json(data: dict) -> bytes:
    """The canonical (Scribe) shape, with `speaker_names` when speakers were renamed."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def to_docx(data: dict, title: str, options: TextOptions = TextOptions()) -> bytes:
    paragraphs = []
    for turn in canonical.turns(data):
        heading = _turn_heading(data, turn, options)
        if heading:
            paragraphs.append(docx.paragraph(heading, bold=True, size_half_points=18, color="5F6B7A"))
        paragraphs.append(docx.paragraph(turn.text))
    return docx.document(title, paragraphs)


def to_pdf(data: dict, title: str, options: TextOptions = TextOptions()) -> bytes:
    if (
        pdf.can_encode(title)
        and pdf.can_encode(data.get("text", ""))
        and pdf.can_encode(" ".join((data.get("speaker_names") or {}).values()))
    ):
        return _pdf_core_fonts(data, title, options)
    return _pdf_unicode(data, title, options)


def _pdf_core_fonts(data: dict, title: str, options: TextOptions) -> bytes:
    writer = pdf.Writer()
    writer.paragraph(title, size=16, bold=True)
    writer.space(6)
    for turn in canonical.turns(data):
        heading = _turn_heading(data, turn, options)
        if heading:
            writer.paragraph(heading, size=9, bold=True, gray=0.4)
        writer.paragraph(turn.text)
        writer.space(5)
    return writer.output(title)


def _pdf_unicode(data: dict, title: str, options: TextOptions) -> bytes:
    """Slow path (fpdf2 with a TrueType font) for text beyond Windows-1252."""
    from fpdf import FPDF

    document = FPDF(format="A4")
    document.set_auto_page_break(True, margin=15)
    document.set_title(title)
    family, encode = _pdf_font(document)
    document.add_page()
    document.set_font(family, size=16)
    document.multi_cell(0, 8, encode(title), new_x="LMARGIN", new_y="NEXT")
    document.ln(3)
    for turn in canonical.turns(data):
        heading = _turn_heading(data, turn, options)
        if heading:
            document.set_font(family, size=9)
            document.set_text_color(0x5F, 0x6B, 0x7A)
            document.cell(0, 5, encode(heading), new_x="LMARGIN", new_y="NEXT")
        document.set_font(family, size=11)
        document.set_text_color(0, 0, 0)
        document.multi_cell(0, 5.5, encode(turn.text), new_x="LMARGIN", new_y="NEXT")
        document.ln(2)
    return bytes(document.output())


def _pdf_font(document) -> tuple[str, Callable[[str], str]]:
    for candidate in PDF_FONT_CANDIDATES:
        if Path(candidate).exists():
            document.add_font("Body", "", candidate)
            return "Body", lambda text: text
    return "Helvetica", lambda text: text.encode("latin-1", "replace").decode("latin-1")


FORMATS = ("txt", "srt", "vtt", "json", "docx", "pdf")
CONTENT_TYPES = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


def export(
    data: dict,
    fmt: str,
    *,
    title: str,
    text_options: TextOptions = TextOptions(),
    cue_options: CueOptions = CueOptions(),
) -> Export:
    if fmt == "txt":
        content = to_txt(data, text_options)
    elif fmt == "srt":
        content = to_srt(data, cue_options)
    elif fmt == "vtt":
        content = to_vtt(data, cue_options)
    elif fmt == "json":
        content = to_json(data)
    elif fmt == "docx":
        content = to_docx(data, title, text_options)
    elif fmt == "pdf":
        content = to_pdf(data, title, text_options)
    else:
        raise ValueError(f"Unknown export format: {fmt}")
    return Export(content, CONTENT_TYPES[fmt], fmt)
