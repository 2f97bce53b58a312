"""Resumable uploads (the tus protocol's workflows; the HTTP side is in
views/tus.py): open an upload for a declared length, append pieces at the
offset the server holds, and, when the last byte is in, probe the file
where it lies and queue its transcript through the same service as any
upload. Unfinished uploads expire; the sweeper removes them and their pieces.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import PurePath
from typing import BinaryIO

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from transcripts import quotas, services
from transcripts.engines.base import TranscriptionOptions
from transcripts.media.assembly import assembly
from transcripts.media.limits import UploadRejected, UploadTooLarge, check_limits
from transcripts.models import ResumableUpload
from transcripts.quotas import QuotaExceeded


class UploadGone(Exception):
    """No such upload for this user: never made, finished and swept, expired or terminated."""


class OffsetConflict(Exception):
    """The piece does not start where the upload stands; str(self) says where it does."""


class UploadBusy(Exception):
    """Another request is writing to this upload right now."""


class PieceTooLong(UploadTooLarge):
    """The piece goes past the length declared when the upload was opened."""


_EXTENSION = re.compile(r"^\.[a-z0-9]{1,8}$")


def stored_name(owner_id: int, upload_id: uuid.UUID, filename: str) -> str:
    """Where the file is assembled, and stays: the user's file name only lends
    its extension (the media's real type comes from the probe)."""
    extension = PurePath(filename).suffix.lower()
    return f"media/{owner_id}/{upload_id.hex}{extension if _EXTENSION.match(extension) else ''}"


def expiry() -> timezone.datetime:
    return timezone.now() + timedelta(seconds=settings.UPLOAD_EXPIRY_SECONDS)


def open_upload(
    user, *, length: int, filename: str, engine: str, options: TranscriptionOptions, metadata: str = ""
) -> ResumableUpload:
    """Refuses at once what the declared length already rules out: an empty
    or oversized file, or one the user's quota has no room for."""
    if length == 0:
        raise UploadRejected("The file is empty.")
    check_limits(length)
    with transaction.atomic():
        quotas.lock(user)
        quotas.check_new_job(user, engine, 0, size=length)  # minutes are known after the probe
    upload = ResumableUpload(
        owner=user,
        length=length,
        filename=filename[:255] or "Recording",
        engine=engine,
        options=options.to_dict(),
        metadata=metadata[:4000],
        expires_at=expiry(),
    )
    upload.storage_name = stored_name(user.pk, upload.id, upload.filename)
    upload.assembly = assembly().begin(upload.storage_name)
    try:
        upload.save()
    except BaseException:
        assembly().abort(upload.storage_name, upload.assembly)
        raise
    return upload


def find(user, upload_id) -> ResumableUpload:
    upload = ResumableUpload.objects.filter(owner=user, pk=upload_id).first()
    if upload is None or (upload.expires_at <= timezone.now() and not upload.is_complete):
        raise UploadGone
    return upload


def append(user, upload_id, offset: int, body: BinaryIO, size: int) -> ResumableUpload:
    """Write one piece of `size` bytes at `offset`. The row is locked while it
    is written, so a retried piece racing the original is told to wait (423).
    The last piece finishes the upload (see `finish`); its refusal is raised
    after the removal it caused has committed."""
    refused: UploadRejected | QuotaExceeded | None = None
    with transaction.atomic():
        upload = _locked(user, upload_id)
        if upload.is_complete or offset != upload.offset:
            raise OffsetConflict(str(upload.offset))
        if offset + size > upload.length:
            raise PieceTooLong("This piece goes past the end of the file declared when the upload began.")
        final = offset + size == upload.length
        written, upload.assembly = assembly().append(upload.storage_name, upload.assembly, offset, body, final=final)
        if written != size:
            raise OffsetConflict(str(upload.offset))  # a short body: the piece is sent again
        upload.offset = offset + written
        upload.expires_at = expiry()
        upload.save(update_fields=["offset", "assembly", "expires_at"])
        if final:
            try:
                finish(upload)
            except (UploadRejected, QuotaExceeded) as error:
                refused = error
    if refused is not None:
        raise refused
    return upload


def _locked(user, upload_id) -> ResumableUpload:
    try:
        upload = ResumableUpload.objects.select_for_update(nowait=True).filter(owner=user, pk=upload_id).first()
    except DatabaseError:
        raise UploadBusy from None
    if upload is None or upload.expires_at <= timezone.now():
        raise UploadGone
    return upload


def finish(upload: ResumableUpload) -> None:
    """Every byte is in: close the file in storage, then probe it and queue
    its transcript. A refusal removes the upload and its file (the caller's
    transaction commits the removal) and is raised for the client to show."""
    assembly().complete(upload.storage_name, upload.assembly)
    try:
        upload.transcript = services.create_stored_upload(
            upload.owner,
            upload.storage_name,
            size=upload.length,
            original_name=upload.filename,
            engine=upload.engine,
            options=TranscriptionOptions.from_dict(upload.options),
        )
    except (UploadRejected, QuotaExceeded):
        upload.delete()
        raise
    upload.save(update_fields=["transcript"])


def terminate(user, upload_id) -> None:
    """The client gave up (tus termination): remove the upload and its pieces.
    A finished upload's file belongs to its transcript and stays."""
    with transaction.atomic():
        upload = _locked(user, upload_id)
        if not upload.is_complete:
            assembly().abort(upload.storage_name, upload.assembly)
        upload.delete()


def sweep_expired(now=None) -> int:
    """Remove uploads past their expiry: the pieces of unfinished ones, and
    the bookkeeping of finished ones (their files are their transcripts')."""
    now = now or timezone.now()
    removed = 0
    for upload_id in ResumableUpload.objects.filter(expires_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            upload = ResumableUpload.objects.select_for_update(skip_locked=True).filter(pk=upload_id).first()
            if upload is None or upload.expires_at > now:
                continue
            if not upload.is_complete:
                assembly().abort(upload.storage_name, upload.assembly)
            upload.delete()
            removed += 1
    return removed
