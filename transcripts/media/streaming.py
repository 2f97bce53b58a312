"""Serve stored media with HTTP range requests, so players can seek in long files.

The body is streamed from storage in chunks: a local file, or one ranged
GET on the S3 object (the bucket is private, and no presigned link is ever
handed out: a share page's media stops the moment its link is revoked).
Under ASGI the chunks come from an async iterator (Django would otherwise
read a sync iterator into memory whole before sending); under WSGI from a
plain generator.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from transcripts.media.storage import read_range
from transcripts.models import Media

CHUNK_BYTES = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte positions, inclusive; None to send the whole file.

    Several ranges, or a header we do not understand, get the whole file (a
    server may ignore Range); a range past the end is Unsatisfiable (416)."""
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0:
            raise Unsatisfiable
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise Unsatisfiable
    return start, end


def _chunks(name: str, start: int, length: int) -> Iterator[bytes]:
    return read_range(name, start, length, CHUNK_BYTES)


async def _async_chunks(name: str, start: int, length: int) -> AsyncIterator[bytes]:
    chunks = _chunks(name, start, length)
    read = sync_to_async(lambda: next(chunks, None), thread_sensitive=False)
    try:
        while (chunk := await read()) is not None:
            yield chunk
    finally:
        await sync_to_async(chunks.close, thread_sensitive=False)()


def media_response(request: HttpRequest, media: Media) -> HttpResponse:
    name = media.file.name
    size = media.size
    try:
        byte_range = parse_range(request.headers.get("Range", ""), size)
    except Unsatisfiable:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    start, end = byte_range or (0, size - 1)
    length = max(end - start + 1, 0)
    body = _async_chunks(name, start, length) if isinstance(request, ASGIRequest) else _chunks(name, start, length)
    response = StreamingHttpResponse(body, status=206 if byte_range else 200, content_type=media.mime_type)
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    return response
