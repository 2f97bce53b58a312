"""Decide what an uploaded file is from its content, the way ffprobe would.

The file is untrusted, so the parsing runs in a child process under a time
limit (`probe`), with only the `file` protocol and a list of ordinary
audio/video demuxers allowed: a playlist-style container cannot make FFmpeg
open other files or URLs. `python -m transcripts.media.probe PATH` prints
the result as JSON; that is what the child runs. A file in object storage
is probed through a presigned URL (`probe_url`), read in byte ranges by
this module, not by FFmpeg (whose network protocols stay off), and given on
stdin so it appears in no process list.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

# Demuxers for ordinary media files. Anything else (playlists, concat lists,
# images, text) is refused before it is parsed.
ALLOWED_DEMUXERS = (
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mp3,wav,w64,ogg,flac,aac,asf,avi,amr,"
    "aiff,caf,mpeg,mpegts,flv,wv,ape,au,voc,dsf,dv,mxf,rm,opus,ac3,eac3,dts,truehd,"
    "mlp,tta,sox,nut,gsm"
)
OPEN_OPTIONS = {"protocol_whitelist": "file", "format_whitelist": ALLOWED_DEMUXERS}

EXTENSIONS = {
    "mov,mp4,m4a,3gp,3g2,mj2": (".mp4", "video/mp4"),
    "matroska,webm": (".mkv", "video/x-matroska"),
    "mp3": (".mp3", "audio/mpeg"),
    "wav": (".wav", "audio/wav"),
    "w64": (".w64", "audio/x-w64"),
    "ogg": (".ogg", "audio/ogg"),
    "flac": (".flac", "audio/flac"),
    "aac": (".aac", "audio/aac"),
    "asf": (".wma", "audio/x-ms-wma"),
    "avi": (".avi", "video/x-msvideo"),
    "amr": (".amr", "audio/amr"),
    "aiff": (".aiff", "audio/aiff"),
    "mpeg": (".mpg", "video/mpeg"),
    "mpegts": (".ts", "video/mp2t"),
    "flv": (".flv", "video/x-flv"),
}

# A container that claims more audio than its packets hold was cut short.
TRUNCATION_TOLERANCE_SECONDS = 1.0
TRUNCATION_TOLERANCE_RATIO = 0.02


class ProbeError(Exception):
    """The file is not usable media; str(self) is the message for the user."""


@dataclass(frozen=True)
class MediaInfo:
    format_name: str
    extension: str
    mime_type: str
    duration: float
    channels: int
    sample_rate: int
    has_video: bool


def extension_for(format_name: str, has_video: bool) -> tuple[str, str]:
    extension, mime = EXTENSIONS.get(format_name, (".bin", "application/octet-stream"))
    if format_name == "mov,mp4,m4a,3gp,3g2,mj2" and not has_video:
        return ".m4a", "audio/mp4"
    if format_name == "matroska,webm" and not has_video:
        return ".mka", "audio/x-matroska"
    return extension, mime


def inspect(path: str) -> MediaInfo:
    """Probe in this process. Use `probe` for untrusted files."""
    return _inspect(path, Path(path).stat().st_size, lambda: open(path, "rb"))


def inspect_url(url: str, size: int) -> MediaInfo:
    from transcripts.media.ranged import http_reader

    with http_reader(url, size) as reader:
        return _inspect(reader, size, lambda: http_reader(url, size))


def _inspect(source, size: int, reopen: Callable[[], BinaryIO]) -> MediaInfo:
    import av

    if size == 0:
        raise ProbeError("The file is empty.")
    try:
        container = av.open(source, options=OPEN_OPTIONS, metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, UnicodeDecodeError):
        raise ProbeError("This is not an audio or video file we can read.") from None
    with container:
        if not container.streams.audio:
            raise ProbeError("This file has no audio track.")
        stream = container.streams.audio[0]
        declared = float(stream.duration * stream.time_base) if stream.duration else None
        decoded_frames, end = _scan_packets(container, stream)
        if decoded_frames == 0 or not end:
            raise ProbeError("The audio in this file could not be decoded: it may be damaged.")
        if _riff_data_is_short(reopen, size) or (
            declared and declared - end > max(TRUNCATION_TOLERANCE_SECONDS, declared * TRUNCATION_TOLERANCE_RATIO)
        ):
            raise ProbeError("This file is truncated: it ends before the audio it announces.")
        has_video = bool(container.streams.video) and not _only_cover_art(container)
        extension, mime = extension_for(container.format.name, has_video)
        return MediaInfo(
            format_name=container.format.name,
            extension=extension,
            mime_type=mime,
            duration=round(end, 3),
            channels=stream.codec_context.channels or 1,
            sample_rate=stream.codec_context.sample_rate or 0,
            has_video=has_video,
        )


def _riff_data_is_short(reopen: Callable[[], BinaryIO], size: int) -> bool:
    """FFmpeg sizes a WAV by the file, not by its header: compare the
    header's data chunk size with the bytes that are really there."""
    with reopen() as file:
        if file.read(4) != b"RIFF":
            return False
        file.seek(12)
        while header := file.read(8):
            if len(header) < 8:
                return False
            chunk, chunk_size = header[:4], int.from_bytes(header[4:], "little")
            if chunk == b"data":
                # 0xFFFFFFFF (or 0) marks a stream whose length was unknown when written.
                return chunk_size not in (0, 0xFFFFFFFF) and file.tell() + chunk_size > size
            file.seek(chunk_size + (chunk_size & 1), 1)
    return False


def _only_cover_art(container) -> bool:
    import av

    return all(av.stream.Disposition.attached_pic in stream.disposition for stream in container.streams.video)


def _scan_packets(container, stream, decode_first: int = 20) -> tuple[int, float]:
    """Walk every audio packet (cheap: no decoding but for the first few) and
    return how many frames decoded and where the audio really ends."""
    import av

    decoded = 0
    end = 0.0
    for index, packet in enumerate(container.demux(stream)):
        if packet.pts is None or packet.time_base is None:
            continue
        finish = float((packet.pts + (packet.duration or 0)) * packet.time_base)
        start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        end = max(end, finish - start)
        if index < decode_first:
            try:
                decoded += len(packet.decode())
            except av.error.FFmpegError:
                pass
    return decoded, end


def probe(path: str, timeout: float) -> MediaInfo:
    """Probe in a child process that is killed after `timeout` seconds."""
    return _probe_in_child(path, "", timeout)


def probe_url(url: str, size: int, timeout: float) -> MediaInfo:
    """Probe an object through a presigned URL, in a child process likewise."""
    return _probe_in_child(URL_ON_STDIN, f"{url}\n{size}\n", timeout)


URL_ON_STDIN = "-"


def _probe_in_child(argument: str, stdin: str, timeout: float) -> MediaInfo:
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "transcripts.media.probe", argument],
            input=stdin.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
            cwd=Path(__file__).resolve().parents[2],
        )
    except subprocess.TimeoutExpired:
        raise ProbeError("This file took too long to read; it may be damaged.") from None
    try:
        answer = json.loads(completed.stdout)
    except ValueError:
        raise ProbeError("This is not an audio or video file we can read.") from None
    if "error" in answer:
        raise ProbeError(answer["error"])
    return MediaInfo(**answer)


def main(path: str) -> None:
    try:
        if path == URL_ON_STDIN:
            url, size = sys.stdin.readline().strip(), int(sys.stdin.readline())
            info = inspect_url(url, size)
        else:
            info = inspect(path)
        print(json.dumps(asdict(info)))
    except ProbeError as error:
        print(json.dumps({"error": str(error)}))


if __name__ == "__main__":
    main(sys.argv[1])
