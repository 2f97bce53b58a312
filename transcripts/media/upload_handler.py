"""An upload handler that counts bytes and stops an upload at the size limit.

Django has no per-file limit (DATA_UPLOAD_MAX_MEMORY_SIZE ignores file
parts). Every file goes to a temporary file on disk, never into memory, so
the probe can read it by path and storage can move it into place.
"""

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    def new_file(self, *args, **kwargs):
        self.received = 0
        self.request.upload_too_large = False
        return super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_BYTES:
            self.request.upload_too_large = True
            # Django closes (and so deletes) the partial temporary file.
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)
