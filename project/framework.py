"""Every patch to a framework's internals, in one place, installed once from
ProjectConfig.ready(). Each patch replaces private methods, so the process
refuses to start on versions these were not tested with (TESTED_VERSIONS):
an upgrade must come with a look at the patched code and its tests.

- Daphne's request body handling: body limits apply while a body is still
  arriving, multipart bodies are not parsed into memory by Twisted, a large
  body reaches the application in pieces, and Twisted spools bodies under
  FILE_UPLOAD_TEMP_DIR (or, where the limit allows, in memory), never in the
  system temp directory (`protect_daphne`).
- Autobahn's close codes: the live socket closes with 1009 and 1013
  (`allow_close_codes`).
- Daphne's access log: tokens in paths and query strings are written as a
  hash prefix (`redact_access_log`, project/redact.py).

(The live consumer's Channels shortcut is a named base class instead:
realtime/inboxless.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from importlib.metadata import version
from io import BytesIO
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from project.redact import redact
from project.upload_guard import body_limit_for, too_large_response

log = logging.getLogger(__name__)

TESTED_VERSIONS = {"daphne": "4.2.3", "autobahn": "26.11.1", "twisted": "26.10.0"}


def install() -> None:
    check_versions()
    protect_daphne()
    allow_close_codes()
    redact_access_log()


def check_versions(tested: dict[str, str] = TESTED_VERSIONS) -> None:
    for package, expected in tested.items():
        found = version(package)
        if found != expected:
            raise ImproperlyConfigured(
                f"{package} {found} is installed, but project/framework.py patches {package} {expected}: "
                "check the patched code against the new version, then update TESTED_VERSIONS."
            )


# --- Daphne: refuse while the body is still arriving -----------------------------

# After a refusal the connection is half-closed (so the client reads the 413
# instead of a reset) and dropped for good after this long.
REFUSED_LINGER_SECONDS = 2.0
# Tasks feeding request bodies; asyncio keeps only weak references to tasks.
_feeding: set[asyncio.Task] = set()


def protect_daphne() -> None:
    """Patch Daphne's request class (once per process) so body limits apply
    as Twisted receives the body, not after it has all been spooled."""
    from daphne.http_protocol import WebRequest

    if getattr(WebRequest, "_body_size_guarded", False):
        return
    original_content_chunk = WebRequest.handleContentChunk
    original_process = WebRequest.process

    def gotLength(self, length):  # noqa: N802 (Twisted's name)
        # Twisted would parse a multipart body into `request.args` (which
        # Daphne never reads) by loading all of it into memory: 1 GB of upload
        # cost over 10 GB of RAM. Django parses the body itself, streaming.
        self._parsePOSTFormSubmission = False
        path = unquote(bytes(getattr(self.channel, "_path", b"/")).split(b"?", 1)[0].decode("latin-1"))
        self._body_limit, self._body_message, in_memory = body_limit_for({"path": path})
        self._body_received = 0
        self._body_refused = False
        if length is not None and length > self._body_limit:
            self.content = BytesIO()
            refuse_early(self)
            return None
        self.content = body_spool(length, in_memory)
        return None

    def handleContentChunk(self, data):  # noqa: N802
        if getattr(self, "_body_refused", False):
            return None  # drained and dropped until the connection closes
        self._body_received = getattr(self, "_body_received", 0) + len(data)
        if self._body_received > self._body_limit:
            refuse_early(self)
            return None
        return original_content_chunk(self, data)

    def process(self):
        if getattr(self, "_body_refused", False):
            return None  # answered already; the application never sees it
        body = self.content
        if isinstance(body, BytesIO) and body.getbuffer().nbytes < SMALL_BODY_BYTES:
            return original_process(self)
        # Daphne would put the whole body into the application's queue at
        # once (1 GB of upload, 1 GB of RAM), in 8 KiB messages (a thousand
        # for a resumable upload's 8 MiB piece). Let it queue an empty body,
        # then feed the real one, in 1 MiB messages, as the application reads it.
        self.content = BytesIO()
        try:
            result = original_process(self)
        finally:
            self.content = body
        queue = self.application_queue
        if queue is not None and queue.qsize() == 1:
            queue.get_nowait()
            task = asyncio.ensure_future(feed_body(self, queue, body))
            _feeding.add(task)
            task.add_done_callback(_feeding.discard)
        return result

    WebRequest.gotLength = gotLength
    WebRequest.handleContentChunk = handleContentChunk
    WebRequest.process = process
    WebRequest._body_size_guarded = True


# Twisted keeps bodies under this size in memory (its own threshold).
SMALL_BODY_BYTES = 100_000


def body_spool(length: int | None, in_memory: bool):
    """Where Twisted collects a request body: Twisted's own choice
    (`_getContentFile`), with the file under FILE_UPLOAD_TEMP_DIR rather
    than the system temp directory, and memory for bodies the limits say
    are small enough (the limit itself bounds them)."""
    if in_memory or (length is not None and length < SMALL_BODY_BYTES):
        return BytesIO()
    return tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)


# The body goes to the application in pieces of this size, at most this many
# queued at a time: a few MiB in memory whatever the upload's size.
FEED_CHUNK_BYTES = 1024 * 1024
FEED_QUEUED_CHUNKS = 4


async def feed_body(request, queue, body) -> None:
    """Put the spooled request body into the application's queue as fast as
    it takes it, never more than FEED_QUEUED_CHUNKS ahead."""
    body.seek(0)
    while True:
        while queue.qsize() >= FEED_QUEUED_CHUNKS:
            await asyncio.sleep(0.002)
        if getattr(request, "_disconnected", False) or request.finished:
            return  # Daphne told the application about the disconnect
        try:
            chunk = body.read(FEED_CHUNK_BYTES)
        except ValueError:  # the request was cleaned up and its file closed
            return
        more_body = len(chunk) == FEED_CHUNK_BYTES
        queue.put_nowait({"type": "http.request", "body": chunk, "more_body": more_body})
        if not more_body:
            return


def refuse_early(request) -> None:
    """Answer 413 on the raw connection and close it. The write side is shut
    first and what the client still sends is read and dropped, so the client
    sees the answer rather than a connection reset."""
    from twisted.internet import reactor

    request._body_refused = True
    # Twisted would send "100 Continue" after our answer; there is nothing to continue.
    request.requestHeaders.removeHeader(b"Expect")
    with contextlib.suppress(Exception):
        request.content.close()
    request.content = BytesIO()
    transport = request.channel.transport
    log.warning("Refused a request body over %s bytes", request._body_limit)
    transport.write(too_large_response(request._body_message))
    try:
        transport.loseWriteConnection()
    except (AttributeError, NotImplementedError):  # TLS and others: a plain close
        transport.loseConnection()
        return
    reactor.callLater(REFUSED_LINGER_SECONDS, transport.abortConnection)


# --- Daphne: no tokens in the access log -------------------------------------------


def redact_access_log() -> None:
    """Daphne writes its access log to stdout itself, past the logging
    filters: hash the tokens in each entry's path before it is written."""
    from daphne.access import AccessLogGenerator

    if getattr(AccessLogGenerator, "_redacted", False):
        return
    original_call = AccessLogGenerator.__call__

    def __call__(self, protocol, action, details):  # noqa: N807 (the patched method)
        if isinstance(details.get("path"), str):
            details = {**details, "path": redact(details["path"])}
        return original_call(self, protocol, action, details)

    AccessLogGenerator.__call__ = __call__
    AccessLogGenerator._redacted = True


# --- Autobahn: close codes -----------------------------------------------------------

# Codes an endpoint may send (1004-1006 and 1015 are reserved).
SENDABLE = {1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}


def allow_close_codes() -> None:
    """Autobahn (under Daphne) only lets an application send 1000 or
    3000-4999, although RFC 6455 lets an endpoint send 1008 (policy), 1009
    (too big), 1011 and 1013 (try again later): Daphne's `serverClose` gets a
    path for those that sends the close frame directly (what autobahn's
    `sendClose` does after its check)."""
    from daphne.ws_protocol import WebSocketProtocol

    if getattr(WebSocketProtocol, "_verbatim_close_codes", False):
        return
    original = WebSocketProtocol.serverClose

    def server_close(self, code=None):
        if code in SENDABLE:
            self.sendCloseFrame(code=code, reasonUtf8=None, isReply=False)
            return
        original(self, code=code)

    WebSocketProtocol.serverClose = server_close
    WebSocketProtocol._verbatim_close_codes = True
