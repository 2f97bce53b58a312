"""A minimal DOCX (WordprocessingML) writer for transcripts.

python-docx builds an lxml tree node by node and needs about half a second
for a three-hour transcript; a transcript is a title plus headed paragraphs,
which this writes straight into the document part.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.sax.saxutils import escape

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    "</Relationships>"
)
DOCUMENT_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
)
DOCUMENT_TAIL = (
    '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>'
    '<w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" w:header="708" w:footer="708" w:gutter="0"/>'
    "</w:sectPr></w:body></w:document>"
)


def _text(value: str) -> str:
    return escape(_CONTROL.sub("", value))


def paragraph(text: str, *, bold: bool = False, size_half_points: int = 22, color: str = "") -> str:
    props = (
        ("<w:b/>" if bold else "")
        + (f'<w:color w:val="{color}"/>' if color else "")
        + f'<w:sz w:val="{size_half_points}"/>'
    )
    return f'<w:p><w:r><w:rPr>{props}</w:rPr><w:t xml:space="preserve">{_text(text)}</w:t></w:r></w:p>'


def core_properties(title: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{_text(title)}</dc:title></cp:coreProperties>"
    )


def document(title: str, paragraphs: list[str]) -> bytes:
    body = DOCUMENT_HEAD + paragraph(title, bold=True, size_half_points=36) + "".join(paragraphs) + DOCUMENT_TAIL
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", PACKAGE_RELS)
        archive.writestr("docProps/core.xml", core_properties(title))
        archive.writestr("word/document.xml", body)
    return out.getvalue()
