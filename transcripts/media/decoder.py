"""Decoding an untrusted recording in a child process.

FFmpeg parses whatever was uploaded; a file that makes it crash (a WAV of 16
channels once did, in the resampler) must cost one job its decode, not the
worker process and every job it was running. The child
(`python -m transcripts.media.decoder CHANNEL SOURCE`) writes 16 kHz float32
samples to its stdout; the parent reads them as they come, so memory stays
flat and a cancelled job stops the child. SOURCE is a path, or `-` with a
presigned URL and the object's size on stdin (read in ranges, as the probe
does; the URL appears in no process list). CHANNEL is a channel's index or
`mix` for the mono downmix.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transcripts.media.pcm import SAMPLE_RATE

log = logging.getLogger(__name__)

# What the parent reads at a time: one second of audio.
CHUNK_BYTES = 4 * SAMPLE_RATE
MIX = "mix"
URL_ON_STDIN = "-"


class DecodeFailed(Exception):
    """The recording could not be decoded; str(self) is the message for the user."""


@dataclass(frozen=True)
class MediaSource:
    """Where the child reads the recording: a local path, or a presigned URL."""

    path: str | None = None
    url: str | None = None
    size: int = 0


def child_command(source: MediaSource, channel: int | None) -> list[str]:
    argument = source.path if source.path is not None else URL_ON_STDIN
    return [sys.executable, "-m", "transcripts.media.decoder", MIX if channel is None else str(channel), argument]


def isolated_chunks(
    source: MediaSource, channel: int | None, *, command: list[str] | None = None
) -> Iterator[np.ndarray]:
    """16 kHz float32 audio of one channel (or the mix), decoded in a child
    process. Raises DecodeFailed if the child crashes or fails."""
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            command or child_command(source, channel),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            cwd=Path(__file__).resolve().parents[2],
        )
        try:
            assert child.stdin is not None and child.stdout is not None
            if source.url is not None:
                child.stdin.write(f"{source.url}\n{source.size}\n".encode())
            child.stdin.close()
            while data := child.stdout.read(CHUNK_BYTES):
                usable = len(data) - len(data) % 4
                yield np.frombuffer(data[:usable], dtype="<f4")
            returncode = child.wait()
        finally:
            if child.poll() is None:  # the reader stopped early (a cancelled job)
                child.kill()
                child.wait()
        if returncode != 0:
            errors.seek(0)
            raise DecodeFailed(failure_message(returncode, errors.read()[-2000:].decode(errors="replace")))


def failure_message(returncode: int, stderr: str) -> str:
    """The user's message; the child's own words (paths, FFmpeg's detail) go to the log."""
    log.warning("The decoder exited with %s: %s", returncode, stderr)
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else str(-returncode)
        return f"The audio decoder crashed on this recording ({name}): the file may be damaged or unusual."
    return "The audio in this recording could not be decoded: the file may be damaged."


def _open_source(argument: str):
    if argument != URL_ON_STDIN:
        return argument
    from transcripts.media.ranged import http_reader

    url, size = sys.stdin.readline().strip(), int(sys.stdin.readline())
    return http_reader(url, size)


def main(channel_argument: str, argument: str) -> None:
    from transcripts.media.audio import decoded_chunks

    channel = None if channel_argument == MIX else int(channel_argument)
    out = sys.stdout.buffer
    try:
        for chunk in decoded_chunks(_open_source(argument), channel):
            out.write(np.ascontiguousarray(chunk, dtype="<f4").tobytes())
        out.flush()
    except BrokenPipeError:  # the parent stopped reading: the job was cancelled
        sys.exit(0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
