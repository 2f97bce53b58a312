"""The resumable upload endpoint: the tus protocol 1.0.0 (core, creation,
creation-with-upload, termination, expiration), as tus-js-client on the
upload page and any tus client (tuspy, Uppy) speak it.

POST /transcripts/tus/ opens an upload for the declared Upload-Length, with
the file name and the transcription options in Upload-Metadata; HEAD on
its URL tells the offset the server holds; PATCH appends a piece there;
DELETE gives it up (and GET, outside tus, shows its state as JSON). When
the last piece is in, the file is probed and its transcript queued: the
answer carries `Transcript-Location`, or a 4xx with
the refusal as JSON `{"error": ...}` (nothing is kept). Unfinished uploads
expire (Upload-Expires) and are swept. Requests need a signed-in session
(and its CSRF token, as every other form here); others get 401.
"""

from __future__ import annotations

import base64
import binascii
import io

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.http import http_date

from transcripts import resumable
from transcripts.forms import UploadOptionsForm, defaults_for
from transcripts.media.limits import UploadRejected, UploadTooLarge
from transcripts.models import ResumableUpload
from transcripts.quotas import QuotaExceeded

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,expiration"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# The metadata keys the page sends besides filename/filetype: the upload form's fields.
OPTION_KEYS = ("engine", "language", "diarize", "num_speakers", "tag_audio_events", "keyterms", "multichannel")


class TusError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def tus_headers(response: HttpResponse) -> HttpResponse:
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    return response


def error_response(status: int, message: str) -> HttpResponse:
    return tus_headers(JsonResponse({"error": message}, status=status))


def options_response() -> HttpResponse:
    response = tus_headers(HttpResponse(status=204))
    response["Tus-Version"] = TUS_VERSION
    response["Tus-Extension"] = TUS_EXTENSIONS
    response["Tus-Max-Size"] = str(settings.MAX_UPLOAD_BYTES)
    return response


def method_of(request: HttpRequest) -> str:
    """The request's method, or the one a POST stands for (X-HTTP-Method-Override,
    for clients behind proxies that refuse PATCH and DELETE)."""
    override = request.headers.get("X-HTTP-Method-Override", "").upper()
    if request.method == "POST" and override in ("PATCH", "DELETE", "HEAD"):
        return override
    return request.method


def tus_endpoint(*methods: str):
    """Methods, version check, authentication and error answers shared by both URLs."""
    return lambda handler: _tus_view(handler, methods)


def _tus_view(handler, methods: tuple[str, ...]):
    @login_not_required
    def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        method = method_of(request)
        if method == "OPTIONS":
            return options_response()
        if method not in methods:
            response = error_response(405, f"Use {', '.join(methods)} here.")
            response["Allow"] = ", ".join(("OPTIONS", *methods))
            return response
        if method != "GET" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            response = error_response(412, f"This server speaks tus {TUS_VERSION}.")
            response["Tus-Version"] = TUS_VERSION
            return response
        if not request.user.is_authenticated:
            return error_response(401, "Sign in to upload.")
        try:
            return tus_headers(handler(request, method, *args, **kwargs))
        except TusError as error:
            return error_response(error.status, str(error))
        except resumable.UploadGone:
            return error_response(404, "This upload does not exist, or it expired.")
        except resumable.UploadBusy:
            return error_response(423, "Another request is writing to this upload; try again in a moment.")
        except resumable.OffsetConflict as conflict:
            response = error_response(409, "This piece does not start where the upload stands.")
            response["Upload-Offset"] = str(conflict)
            return response
        except UploadRejected as error:
            return error_response(413 if isinstance(error, UploadTooLarge) else 400, str(error))
        except QuotaExceeded as error:
            return error_response(403, str(error))

    return view


# --- the collection: creating an upload -----------------------------------------------


@tus_endpoint("POST")
def collection(request: HttpRequest, method: str) -> HttpResponse:
    length = header_number(request, "Upload-Length")
    if length is None:
        raise TusError(400, "Upload-Length is required (uploads of unknown length are not supported).")
    raw_metadata = request.headers.get("Upload-Metadata", "")
    metadata = parse_metadata(raw_metadata)
    # Options left out take the upload page's defaults (a plain tus client sends only a file name).
    sent = {key: metadata[key] for key in OPTION_KEYS if key in metadata}
    form = UploadOptionsForm({**defaults_for(sent.get("engine")), **sent})
    if not form.is_valid():
        raise TusError(400, " ".join(error for errors in form.errors.values() for error in errors))
    upload = resumable.open_upload(
        request.user,
        length=length,
        filename=metadata.get("filename", ""),
        engine=form.cleaned_data["engine"],
        options=form.options(),
        metadata=raw_metadata,
    )
    location = reverse("transcripts:tus_upload", args=[upload.pk])
    if request.headers.get("Content-Type") == OFFSET_CONTENT_TYPE:  # creation-with-upload
        upload = append_piece(request, upload.pk, offset=0)
    response = upload_headers(HttpResponse(status=201), upload)
    response["Location"] = request.build_absolute_uri(location)
    return response


# --- one upload: offset, pieces, termination -------------------------------------------


@tus_endpoint("GET", "HEAD", "PATCH", "DELETE")
def upload(request: HttpRequest, method: str, upload_id) -> HttpResponse:
    if method == "GET":  # not tus: the upload's state as JSON, for API clients and people
        found = resumable.find(request.user, upload_id)
        transcript = reverse("transcripts:detail", args=[found.transcript_id]) if found.transcript_id else None
        return JsonResponse({"offset": found.offset, "length": found.length, "transcript": transcript})
    if method == "HEAD":
        found = resumable.find(request.user, upload_id)
        response = upload_headers(HttpResponse(status=200), found)
        response["Upload-Length"] = str(found.length)
        if found.metadata:
            response["Upload-Metadata"] = found.metadata
        return response
    if method == "PATCH":
        if request.headers.get("Content-Type") != OFFSET_CONTENT_TYPE:
            raise TusError(415, f"A piece is sent as {OFFSET_CONTENT_TYPE}.")
        offset = header_number(request, "Upload-Offset")
        if offset is None:
            raise TusError(400, "Upload-Offset is required.")
        return upload_headers(HttpResponse(status=204), append_piece(request, upload_id, offset))
    resumable.terminate(request.user, upload_id)  # DELETE
    return HttpResponse(status=204)


def append_piece(request: HttpRequest, upload_id, offset: int) -> ResumableUpload:
    size = header_number(request, "Content-Length")
    if size is None:  # a chunked body: already in memory, and bounded by the piece limit
        body = io.BytesIO(request.read())
        return resumable.append(request.user, upload_id, offset, body, len(body.getbuffer()))
    return resumable.append(request.user, upload_id, offset, request, size)


def upload_headers(response: HttpResponse, upload: ResumableUpload) -> HttpResponse:
    response["Upload-Offset"] = str(upload.offset)
    if upload.transcript_id:
        response["Transcript-Location"] = reverse("transcripts:detail", args=[upload.transcript_id])
    elif not upload.is_complete:
        response["Upload-Expires"] = http_date(upload.expires_at.timestamp())
    return response


# --- headers -------------------------------------------------------------------


def header_number(request: HttpRequest, name: str) -> int | None:
    value = request.headers.get(name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise TusError(400, f"{name} must be a whole number of bytes.")
    return int(value)


def parse_metadata(header: str) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64(value)` pairs (a key alone
    means an empty value)."""
    metadata: dict[str, str] = {}
    for pair in filter(None, (item.strip() for item in header.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            metadata[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise TusError(400, f"Upload-Metadata: the value of {key!r} is not base64 text.") from None
    return metadata
