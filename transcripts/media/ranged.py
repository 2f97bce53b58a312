"""A seekable, read-only file over a remote object read in byte ranges (an
S3 object through boto3, or a presigned URL over HTTP), so a parser can
read a 3 GB recording in a bucket without a copy on disk.

Reading on from where the last read stopped continues the same response; a
short skip forward reads through; any other seek opens a new range. Nothing
is held but the open response. No Django here: the probe's child process
uses it too.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Protocol

# A seek forward by at most this much reads through instead of a new request.
SKIP_THROUGH_BYTES = 1024 * 1024
# What a parser reading in small pieces gets from each call into this reader.
BUFFER_BYTES = 256 * 1024


class Stream(Protocol):
    def read(self, size: int) -> bytes: ...

    def close(self) -> None: ...


class RangedReader(io.RawIOBase):
    def __init__(self, open_at: Callable[[int], Stream], size: int, on_close: Callable[[], None] | None = None):
        """`open_at(offset)` returns a stream of the object from `offset` to its end."""
        self._open_at = open_at
        self._on_close = on_close
        self._size = size
        self._position = 0
        self._stream: Stream | None = None
        self._stream_position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(base + offset, 0)
        return self._position

    def readinto(self, buffer) -> int:
        if self._position >= self._size:
            return 0
        stream = self._stream_at(self._position)
        data = stream.read(min(len(buffer), self._size - self._position))
        buffer[: len(data)] = data
        self._position += len(data)
        self._stream_position += len(data)
        return len(data)

    def _stream_at(self, position: int) -> Stream:
        ahead = position - self._stream_position
        if self._stream is not None and 0 < ahead <= SKIP_THROUGH_BYTES:
            while ahead > 0 and (skipped := len(self._stream.read(min(ahead, BUFFER_BYTES)))):
                ahead -= skipped
                self._stream_position += skipped
        if self._stream is None or self._stream_position != position:
            self._close_stream()
            self._stream = self._open_at(position)
            self._stream_position = position
        return self._stream

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def close(self) -> None:
        self._close_stream()
        if self._on_close is not None:
            self._on_close()
            self._on_close = None
        super().close()


def buffered(reader: RangedReader) -> io.BufferedReader:
    return io.BufferedReader(reader, buffer_size=BUFFER_BYTES)


class _ChunkStream:
    """read(n) over an iterator of byte chunks (an HTTP response body)."""

    def __init__(self, chunks: Iterator[bytes], close: Callable[[], None]):
        self._chunks = chunks
        self._pending = b""
        self.close = close

    def read(self, size: int) -> bytes:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._pending = chunk
        data, self._pending = self._pending[:size], self._pending[size:]
        return data


def http_reader(url: str, size: int, *, timeout: float = 30) -> io.BufferedReader:
    """A presigned URL as a seekable file (the probe's child reads with it)."""
    import httpx

    client = httpx.Client(timeout=timeout)

    def open_at(offset: int) -> Stream:
        request = client.build_request("GET", url, headers={"Range": f"bytes={offset}-"})
        response = client.send(request, stream=True)
        if response.status_code != 206:
            response.close()
            raise OSError(f"The media store answered {response.status_code} to a range request.")
        return _ChunkStream(response.iter_raw(BUFFER_BYTES), response.close)

    return buffered(RangedReader(open_at, size, on_close=client.close))
