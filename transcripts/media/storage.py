"""Where a job reads its media from."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator

from django.conf import settings
from django.core.files.storage import default_storage

from transcripts.models import Media


@contextlib.contextmanager
def media_on_disk(media: Media, *, needed: bool = True) -> Iterator[str | None]:
    """A local path to the media: the stored file itself on a local disk, or
    a temporary copy when it lives in object storage (None when the engine
    said it does not need one)."""
    try:
        yield default_storage.path(media.file.name)
        return
    except NotImplementedError:
        pass
    if not needed:
        yield None
        return
    with tempfile.NamedTemporaryFile(suffix=media.extension, dir=settings.FILE_UPLOAD_TEMP_DIR) as copy:
        with default_storage.open(media.file.name, "rb") as source:
            shutil.copyfileobj(source, copy, 1024 * 1024)
        copy.flush()
        yield copy.name
