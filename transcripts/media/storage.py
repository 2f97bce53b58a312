"""Where media lives and how it is read: a file on this machine's disk, or
a private object in an S3 bucket (django-storages). Objects are read in
byte ranges as they are needed, never copied whole to a local disk, so a
worker or web process needs no disk of its own for media."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage

from transcripts.media.decoder import MediaSource
from transcripts.media.ranged import BUFFER_BYTES, RangedReader, buffered


def is_object_storage() -> bool:
    return not isinstance(default_storage, FileSystemStorage)


def local_path(name: str) -> str | None:
    """The stored file's path on this machine, or None in object storage."""
    if is_object_storage():
        return None
    return default_storage.path(name)


def s3_client():
    """The bucket's boto3 client (django-storages keeps one per thread)."""
    return default_storage.connection.meta.client


def bucket() -> str:
    return default_storage.bucket_name


def open_media(name: str) -> BinaryIO:
    """The stored file, opened for reading: a local file, or the object read
    in ranges as the reader goes (a seek opens a new range)."""
    path = local_path(name)
    if path is not None:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    client, key = s3_client(), name
    size = client.head_object(Bucket=bucket(), Key=key)["ContentLength"]

    def open_at(offset: int):
        return client.get_object(Bucket=bucket(), Key=key, Range=f"bytes={offset}-")["Body"]

    return buffered(RangedReader(open_at, size))


def read_range(name: str, start: int, length: int, chunk: int = BUFFER_BYTES) -> Iterator[bytes]:
    """`length` bytes of the stored file from `start`, in chunks (one ranged
    request for an object)."""
    if length <= 0:
        return
    path = local_path(name)
    if path is not None:
        with open(path, "rb") as handle:
            handle.seek(start)
            remaining = length
            while remaining > 0 and (data := handle.read(min(chunk, remaining))):
                remaining -= len(data)
                yield data
        return
    body = s3_client().get_object(Bucket=bucket(), Key=name, Range=f"bytes={start}-{start + length - 1}")["Body"]
    try:
        yield from body.iter_chunks(chunk)
    finally:
        body.close()


def presigned_url(name: str, *, expire: int | None = None) -> str | None:
    """A short-lived link to the object (None on a local disk)."""
    if not is_object_storage():
        return None
    return default_storage.url(name, expire=expire or settings.MEDIA_URL_EXPIRY_SECONDS)


def media_source(name: str) -> MediaSource:
    """Where a child process reads the stored file: its path on this disk,
    or a presigned URL to the object, valid as long as a job may run."""
    path = local_path(name)
    if path is not None:
        return MediaSource(path=path)
    url = presigned_url(name, expire=settings.TASK_TIME_LIMIT_SECONDS + 600)
    return MediaSource(url=url, size=default_storage.size(name))
