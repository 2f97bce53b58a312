"""The live recording: 16 kHz mono PCM16 written to a WAV as it streams.

`RecordingWriter(name)` gives the writer for the media storage in use:

- On a local disk (`LocalRecording`) the WAV is the stored file itself. The
  header is written first with zero sizes and patched when the session ends;
  `finalize` works from the file's length alone, so the same call recovers a
  file left by a crashed process.
- In an S3 bucket (`BucketRecording`) there is no file to append to, and the
  session may go on on another web node (its page reconnects elsewhere), so
  the recording lives in the bucket from the start: every
  LIVE_RECORDING_CHECKPOINT_SECONDS the new audio is saved as a small piece
  object named by its byte offset, and pieces that fill a whole
  S3_PART_SIZE part become that part of one multipart upload of the final
  object. Part n always holds the bytes from (n-1) * S3_PART_SIZE, so any
  node can read the state from the bucket and carry on. Part 1 waits for
  the end (it holds the header, patched then); `finalize` uploads it and the
  last part and completes the one object. A node that dies loses at most the
  audio since its last checkpoint.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import os
import struct
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

from transcripts.media import storage
from transcripts.media.pcm import BYTES_PER_SECOND, SAMPLE_RATE, SAMPLE_WIDTH

log = logging.getLogger(__name__)

HEADER_BYTES = 44


def wav_header(data_bytes: int, sample_rate: int = SAMPLE_RATE) -> bytes:
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * SAMPLE_WIDTH, SAMPLE_WIDTH, 8 * SAMPLE_WIDTH)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def storage_name(owner_id: int, session_uuid) -> str:
    return f"media/{owner_id}/live-{session_uuid.hex}.wav"


class RecordingWriter:
    """Appends PCM to the session's WAV; `bytes` is the audio recorded so far
    (by every connection the session had). `write` is called from the event
    loop for every frame, so it only buffers; `close` saves what is buffered."""

    bytes: int

    def __new__(cls, name: str):
        if cls is RecordingWriter:
            cls = BucketRecording if storage.is_object_storage() else LocalRecording
        return super().__new__(cls)

    def write(self, pcm: bytes) -> None:
        raise NotImplementedError

    async def read(self, start: int, end: int) -> builtins.bytes:
        """Audio bytes [start, end) of the recording (offsets into its PCM,
        not the file): what an upstream replays after a reconnect."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def tail(self, size: int) -> builtins.bytes:
        """The last `size` bytes of audio recorded (b"" where it is not at hand)."""
        return b""


def finalize(name: str) -> tuple[int, int, str]:
    """Give the WAV its true header and make it the stored file. Returns
    (data bytes, file size, storage name)."""
    if storage.is_object_storage():
        return finalize_in_bucket(name)
    return finalize_local(name)


def discard(name: str) -> None:
    """Remove a recording that will not become a transcript, and its pieces."""
    if storage.is_object_storage():
        discard_in_bucket(name)
    else:
        Path(storage.local_path(name)).unlink(missing_ok=True)


# --- on a local disk ----------------------------------------------------------------


class LocalRecording(RecordingWriter):
    """Frames are small and land in a 64 KiB buffer (about 2 s of audio), so
    the event loop makes one page-cache write every couple of seconds per
    session rather than one per frame. A crash loses at most that buffer."""

    BUFFER_BYTES = 64 * 1024

    def __init__(self, name: str):
        self.name = name
        self.path = Path(storage.local_path(name))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        size = self.path.stat().st_size if self.path.exists() else 0
        exists = size >= HEADER_BYTES
        if exists and (size - HEADER_BYTES) % 2:
            os.truncate(self.path, size - 1)  # resumed after a crash mid-sample
        self.file = open(self.path, "ab", buffering=self.BUFFER_BYTES)  # noqa: SIM115 - closed in close()
        if not exists:
            self.file.write(wav_header(0))
        self.bytes = self.file.tell() - HEADER_BYTES

    def write(self, pcm: bytes) -> None:
        self.file.write(pcm)
        self.bytes += len(pcm)

    async def read(self, start: int, end: int) -> builtins.bytes:
        if not self.file.closed:
            self.file.flush()  # here, on the loop that writes; the read can go to a thread
        return await asyncio.to_thread(self._read, start, end)

    def _read(self, start: int, end: int) -> builtins.bytes:
        with open(self.path, "rb") as handle:
            handle.seek(HEADER_BYTES + start)
            return handle.read(max(end - start, 0))

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()

    def tail(self, size: int) -> builtins.bytes:
        size = min(size - size % 2, self.bytes)
        if size <= 0:
            return b""
        self.file.flush()
        with self.path.open("rb") as wav:
            wav.seek(HEADER_BYTES + self.bytes - size)
            return wav.read(size)


def finalize_local(name: str) -> tuple[int, int, str]:
    path = Path(storage.local_path(name))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(wav_header(0))
    size = path.stat().st_size
    data = max(size - HEADER_BYTES, 0)
    if data % 2:  # a crash mid-sample: drop the half sample
        data -= 1
        os.truncate(path, HEADER_BYTES + data)
    with open(path, "r+b") as handle:
        handle.write(wav_header(data))
    return data, HEADER_BYTES + data, name


# --- in a bucket -----------------------------------------------------------------------

# Checkpoints and part uploads of every session in this process.
_uploads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="recording")


def pieces_prefix(name: str) -> str:
    return f"{name}.pieces/"


def piece_name(name: str, offset: int) -> str:
    return f"{pieces_prefix(name)}{offset:015d}"


@dataclass(frozen=True)
class Piece:
    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


class BucketState:
    """What the bucket holds of one recording: its pieces, the multipart
    upload of the final object and the parts it has. Any node reads it."""

    def __init__(self, name: str):
        self.name = name
        self.client, self.bucket = storage.s3_client(), storage.bucket()
        self.part_size = settings.S3_PART_SIZE
        self.pieces = self._list_pieces()
        self.upload_id = self._find_upload()
        self.parts: dict[int, str] = self._list_parts() if self.upload_id else {}

    @property
    def end(self) -> int:
        """Bytes of WAV (header included) saved so far."""
        return max([p.end for p in self.pieces] + [n * self.part_size for n in self.parts] + [0])

    def _list_pieces(self) -> list[Piece]:
        pieces = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=pieces_prefix(self.name)
        ):
            for item in page.get("Contents", []):
                pieces.append(Piece(int(item["Key"].rsplit("/", 1)[1]), item["Size"]))
        return sorted(pieces, key=lambda piece: piece.offset)

    def _find_upload(self) -> str | None:
        answer = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.name)
        uploads = [u for u in answer.get("Uploads", []) if u["Key"] == self.name]
        return uploads[0]["UploadId"] if uploads else None

    def _list_parts(self) -> dict[int, str]:
        parts = {}
        for page in self.client.get_paginator("list_parts").paginate(
            Bucket=self.bucket, Key=self.name, UploadId=self.upload_id
        ):
            parts.update({part["PartNumber"]: part["ETag"] for part in page.get("Parts", [])})
        return parts

    # --- reading and writing ---

    def save_piece(self, offset: int, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=piece_name(self.name, offset), Body=data)
        self.pieces.append(Piece(offset, len(data)))

    def read(self, start: int, end: int) -> bytes:
        """Bytes [start, end) of the recording, from its pieces."""
        out = bytearray()
        for piece in self.pieces:
            if piece.end <= start or piece.offset >= end or piece.offset > start + len(out):
                continue
            body = self.client.get_object(Bucket=self.bucket, Key=piece_name(self.name, piece.offset))["Body"]
            with contextlib.closing(body):
                data = body.read()
            out += data[start + len(out) - piece.offset : end - piece.offset]
        return bytes(out)

    def upload_part(self, number: int, data: bytes) -> None:
        if self.upload_id is None:
            self.upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.name)["UploadId"]
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=self.name, UploadId=self.upload_id, PartNumber=number, Body=data
        )
        self.parts[number] = answer["ETag"]

    def drop_pieces_in_parts(self) -> None:
        """Pieces whose bytes are all in uploaded parts (part 1 excepted: it
        is uploaded at the end) are no longer needed."""
        for piece in list(self.pieces):
            first, last = piece.offset // self.part_size + 1, (piece.end - 1) // self.part_size + 1
            if first >= 2 and all(n in self.parts for n in range(first, last + 1)):
                self.delete(piece_name(self.name, piece.offset))
                self.pieces.remove(piece)

    def upload_full_parts(self) -> None:
        """Every part from 2 on that the pieces now cover whole, uploaded."""
        number = 2
        while number * self.part_size <= self.end:
            if number not in self.parts:
                self.upload_part(number, self.read((number - 1) * self.part_size, number * self.part_size))
            number += 1
        self.drop_pieces_in_parts()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)


class BucketRecording(RecordingWriter):
    def __init__(self, name: str):
        self.name = name
        self.checkpoint_bytes = max(int(settings.LIVE_RECORDING_CHECKPOINT_SECONDS * BYTES_PER_SECOND), 2)
        self.state = BucketState(name)
        end = self.state.end
        self.pending = bytearray() if end else bytearray(wav_header(0))
        self.saved = end  # bytes of WAV in the bucket (or on their way there)
        if end > HEADER_BYTES and (end - HEADER_BYTES) % 2:
            self._drop_half_sample()
        self.bytes = max(self.saved, HEADER_BYTES) - HEADER_BYTES
        self.job: Future | None = None
        self.lock = threading.Lock()  # one bucket update at a time per recording

    def write(self, pcm: bytes) -> None:
        self.pending += pcm
        self.bytes += len(pcm)
        if len(self.pending) >= self.checkpoint_bytes and (self.job is None or self.job.done()):
            offset, data = self._take_pending()
            self.job = _uploads.submit(self._save, offset, data)

    async def read(self, start: int, end: int) -> builtins.bytes:
        """From the pieces in the bucket and what is still in memory. (Audio
        already folded into a multipart part is not read back: only an
        uncommitted stretch longer than S3_PART_SIZE would reach it.)"""
        start, end = start + HEADER_BYTES, end + HEADER_BYTES
        pending_start, pending = self.saved, bytes(self.pending)
        job = self.job
        if job is not None:
            with contextlib.suppress(Exception):  # its bytes are then missing, as they are from the bucket
                await asyncio.wrap_future(job)
        stored = b""
        if start < pending_start:
            stored = await asyncio.to_thread(self._read_stored, start, min(end, pending_start))
        return stored + pending[max(start - pending_start, 0) : max(end - pending_start, 0)]

    def _read_stored(self, start: int, end: int) -> builtins.bytes:
        with self.lock:
            return self.state.read(start, end)

    def close(self) -> None:
        """Save what is buffered before returning: the session's next
        connection (on any node) reads the recording from the bucket."""
        if self.job is not None:
            with contextlib.suppress(Exception):
                self.job.result(timeout=30)
        if self.pending:
            self._save(*self._take_pending())

    def _take_pending(self) -> tuple[int, bytes]:
        offset, data = self.saved, bytes(self.pending)
        self.saved += len(data)
        self.pending.clear()
        return offset, data

    def _save(self, offset: int, data: bytes) -> None:
        with self.lock:
            self.state.save_piece(offset, data)
            try:
                self.state.upload_full_parts()
            except Exception:  # the pieces are safe; the next checkpoint or finalize tries again
                log.warning("Live recording %s: a part upload failed", self.name, exc_info=True)

    def _drop_half_sample(self) -> None:
        """Resumed after a crash mid-sample: rewrite the last piece without it."""
        last = self.state.pieces[-1]
        data = self.state.read(last.offset, last.end - 1)
        self.state.delete(piece_name(self.name, last.offset))
        self.state.pieces.remove(last)
        self.state.save_piece(last.offset, data)
        self.saved -= 1


def finalize_in_bucket(name: str) -> tuple[int, int, str]:
    state = BucketState(name)
    end = max(state.end, HEADER_BYTES)
    data = end - HEADER_BYTES
    if data % 2:
        data -= 1
    size, part = HEADER_BYTES + data, state.part_size
    if size <= part and not state.parts:
        body = wav_header(data) + state.read(HEADER_BYTES, size)
        state.client.put_object(Bucket=state.bucket, Key=name, Body=body)
        if state.upload_id:  # begun for a part that never made it
            state.client.abort_multipart_upload(Bucket=state.bucket, Key=name, UploadId=state.upload_id)
    else:
        state.upload_full_parts()
        last = (size - 1) // part + 1
        for number in range(2, last + 1):
            if number not in state.parts or number == last:
                state.upload_part(number, state.read((number - 1) * part, min(number * part, size)))
        state.upload_part(1, wav_header(data) + state.read(HEADER_BYTES, part))
        parts = [{"PartNumber": n, "ETag": state.parts[n]} for n in range(1, last + 1)]
        state.client.complete_multipart_upload(
            Bucket=state.bucket, Key=name, UploadId=state.upload_id, MultipartUpload={"Parts": parts}
        )
    for piece in state.pieces:
        state.delete(piece_name(name, piece.offset))
    return data, size, name


def discard_in_bucket(name: str) -> None:
    state = BucketState(name)
    if state.upload_id:
        state.client.abort_multipart_upload(Bucket=state.bucket, Key=name, UploadId=state.upload_id)
    for piece in state.pieces:
        state.delete(piece_name(name, piece.offset))
    default_storage.delete(name)
