"""The live recording: 16 kHz mono PCM16 written to a WAV file as it streams.

The header is written first with zero sizes and patched when the session
ends; `finalize` works from the file's length alone, so the same call
recovers a file left by a crashed process. With object storage (no local
path) the WAV is spooled under FILE_UPLOAD_TEMP_DIR and uploaded at the end.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from transcripts.media.pcm import SAMPLE_RATE, SAMPLE_WIDTH

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


def local_path(name: str) -> Path:
    """Where the WAV is written while the session runs."""
    try:
        return Path(default_storage.path(name))
    except NotImplementedError:
        return Path(settings.FILE_UPLOAD_TEMP_DIR) / "live" / Path(name).name


class RecordingWriter:
    """Appends PCM to the WAV. Frames are small and land in a 64 KiB buffer
    (about 2 s of audio), so the event loop makes one page-cache write every
    couple of seconds per session rather than one per frame. A crash loses
    at most that buffer."""

    BUFFER_BYTES = 64 * 1024

    def __init__(self, name: str):
        self.name = name
        self.path = local_path(name)
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

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()


def finalize(name: str) -> tuple[int, int, str]:
    """Patch the header to the data actually on disk and move the file into
    storage if it was spooled. Returns (data bytes, file size, storage name)."""
    path = local_path(name)
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
    return data, HEADER_BYTES + data, _upload_spooled(name, path)


def _upload_spooled(name: str, path: Path) -> str:
    try:
        default_storage.path(name)
        return name  # already in place
    except NotImplementedError:
        pass
    with open(path, "rb") as handle:
        saved = default_storage.save(name, File(handle, name=Path(name).name))
    path.unlink(missing_ok=True)
    return saved
