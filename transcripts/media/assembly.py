"""Files put together piece by piece in their final place in storage, for
resumable uploads: every byte is written once, where it will stay.

On a local disk the pieces are appended to the file itself. In a bucket
they become the parts of an S3 multipart upload; parts are `S3_PART_SIZE`
(S3 wants at least 5 MiB for all but the last), and part n always holds
the bytes from (n-1) * S3_PART_SIZE, so the state follows from the offset
alone and a piece sent again after a crash simply overwrites its part.
Bytes past the last whole part wait in a small `.tail` object until the
next piece (any web process may receive it) completes the part.

Each backend keeps its bookkeeping in a JSON-able dict (`state`) that the
caller stores with the upload.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO, Protocol

from django.conf import settings

from transcripts.media import storage

COPY_BYTES = 1024 * 1024


class Assembly(Protocol):
    def begin(self, name: str) -> dict: ...

    def append(self, name: str, state: dict, offset: int, body: BinaryIO, *, final: bool) -> tuple[int, dict]:
        """Write `body` at `offset`: (bytes written, new state). With `final`,
        these are the file's last bytes."""
        ...

    def complete(self, name: str, state: dict) -> None: ...

    def abort(self, name: str, state: dict) -> None:
        """Remove every trace: the file or object, and any pieces."""
        ...


def assembly() -> Assembly:
    return S3Assembly() if storage.is_object_storage() else LocalAssembly()


class LocalAssembly:
    def begin(self, name: str) -> dict:
        path = Path(storage.local_path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=settings.FILE_UPLOAD_PERMISSIONS or 0o640, exist_ok=False)
        return {}

    def append(self, name: str, state: dict, offset: int, body: BinaryIO, *, final: bool) -> tuple[int, dict]:
        written = 0
        with open(storage.local_path(name), "r+b") as file:
            # Bytes past the recorded offset are from a request that died
            # before it was recorded: the client sends them again.
            file.truncate(offset)
            file.seek(offset)
            while data := body.read(COPY_BYTES):
                file.write(data)
                written += len(data)
            if final:
                file.flush()
                os.fsync(file.fileno())
        return written, state

    def complete(self, name: str, state: dict) -> None:
        pass

    def abort(self, name: str, state: dict) -> None:
        Path(storage.local_path(name)).unlink(missing_ok=True)


class S3Assembly:
    def begin(self, name: str) -> dict:
        answer = storage.s3_client().create_multipart_upload(Bucket=storage.bucket(), Key=name)
        return {"upload_id": answer["UploadId"], "etags": []}

    def append(self, name: str, state: dict, offset: int, body: BinaryIO, *, final: bool) -> tuple[int, dict]:
        part_size = settings.S3_PART_SIZE
        etags = list(state["etags"][: offset // part_size])
        carried = offset % part_size
        received = body.read()
        data = memoryview(self._tail(name, carried) + received)
        start = 0
        while len(data) - start >= part_size or (final and start < len(data)):
            piece = bytes(data[start : start + part_size])
            etags.append(self._upload_part(name, state["upload_id"], len(etags) + 1, piece))
            start += len(piece)
        if start < len(data):
            storage.s3_client().put_object(Bucket=storage.bucket(), Key=tail_name(name), Body=bytes(data[start:]))
        elif carried:
            self._delete(tail_name(name))
        return len(received), {**state, "etags": etags}

    def complete(self, name: str, state: dict) -> None:
        parts = [{"PartNumber": number, "ETag": etag} for number, etag in enumerate(state["etags"], start=1)]
        storage.s3_client().complete_multipart_upload(
            Bucket=storage.bucket(), Key=name, UploadId=state["upload_id"], MultipartUpload={"Parts": parts}
        )

    def abort(self, name: str, state: dict) -> None:
        client = storage.s3_client()
        with contextlib.suppress(client.exceptions.NoSuchUpload):
            client.abort_multipart_upload(Bucket=storage.bucket(), Key=name, UploadId=state["upload_id"])
        self._delete(tail_name(name))
        self._delete(name)  # completed, then refused

    def _tail(self, name: str, size: int) -> bytes:
        if not size:
            return b""
        body = storage.s3_client().get_object(Bucket=storage.bucket(), Key=tail_name(name))["Body"]
        with contextlib.closing(body):
            return body.read()[:size]

    def _upload_part(self, name: str, upload_id: str, number: int, data: bytes) -> str:
        answer = storage.s3_client().upload_part(
            Bucket=storage.bucket(), Key=name, UploadId=upload_id, PartNumber=number, Body=data
        )
        return answer["ETag"]

    def _delete(self, key: str) -> None:
        storage.s3_client().delete_object(Bucket=storage.bucket(), Key=key)


def tail_name(name: str) -> str:
    return f"{name}.tail"
