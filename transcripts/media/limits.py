"""The limits an upload must keep, with the messages that explain them."""

from __future__ import annotations

from django.conf import settings

from transcripts.formatting import human_duration, human_size
from transcripts.media.probe import MediaInfo

# Room for the multipart boundaries and the form fields around the file.
FORM_OVERHEAD_BYTES = 1024 * 1024
# Any request that is not an upload is small; nothing else needs more.
OTHER_REQUEST_LIMIT_BYTES = 20 * 1024 * 1024
UPLOAD_PATH_PREFIXES = ("/transcripts/upload",)
# Resumable uploads: each request carries one piece (UPLOAD_CHUNK_SIZE at most).
RESUMABLE_PATH_PREFIXES = ("/transcripts/tus/",)
# Room for a piece's request beyond the piece itself (nothing else is in its body).
CHUNK_OVERHEAD_BYTES = 64 * 1024
# The API's endpoints that take a file (api/urls.py, api/compat/urls.py).
UPLOAD_PATHS = ("/api/v1/transcripts", "/v1/speech-to-text", "/v1/audio/transcriptions")


class UploadRejected(Exception):
    """str(self) is the message for the person who uploaded."""


class UploadTooLarge(UploadRejected):
    """Over MAX_UPLOAD_SIZE (HTTP 413)."""


def too_large_message() -> str:
    return f"This file is larger than the {human_size(settings.MAX_UPLOAD_BYTES)} limit."


def check_limits(size: int, info: MediaInfo | None = None) -> None:
    if size > settings.MAX_UPLOAD_BYTES:
        raise UploadTooLarge(too_large_message())
    if info and info.duration > settings.MAX_MEDIA_SECONDS:
        raise UploadRejected(
            f"This recording is {human_duration(info.duration)} long; "
            f"the limit is {human_duration(settings.MAX_MEDIA_SECONDS)}."
        )


# "Transcribe each channel separately": Scribe takes at most 5 channels
# (/work/shared/scribe-api.md, use_multi_channel), and the local engine keeps
# the same limit (each channel is a transcription of its own).
MAX_SEPARATE_CHANNELS = 5


def check_channels(info: MediaInfo, *, separately: bool) -> None:
    if separately and info.channels > MAX_SEPARATE_CHANNELS:
        raise UploadRejected(
            f"This recording has {info.channels} channels; transcribing each channel separately works with "
            f"at most {MAX_SEPARATE_CHANNELS}. Upload it without that option to transcribe all channels mixed."
        )


def chunk_too_large_message() -> str:
    return f"A piece of a resumable upload is at most {human_size(settings.UPLOAD_CHUNK_SIZE)}."


def body_limit_for(scope: dict) -> tuple[int, str] | tuple[int, str, bool]:
    """The byte limit for a request (by its path), the message that explains
    it, and whether the body may stay in memory: read by the request body
    guard (project/upload_guard.py). A piece of a resumable upload is small
    and goes straight to its final storage, so it is spooled nowhere."""
    if scope["path"].startswith(RESUMABLE_PATH_PREFIXES):
        return settings.UPLOAD_CHUNK_SIZE + CHUNK_OVERHEAD_BYTES, chunk_too_large_message(), True
    if scope["path"].startswith(UPLOAD_PATH_PREFIXES) or scope["path"].rstrip("/") in UPLOAD_PATHS:
        return settings.MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES, too_large_message()
    return OTHER_REQUEST_LIMIT_BYTES, "This request is too large."
