"""Let consumers close a WebSocket with the RFC 6455 status codes 1001-1014.

Autobahn (under Daphne) only lets an application send 1000 or 3000-4999,
although the RFC allows an endpoint to send 1008 (policy), 1009 (too big),
1011 and 1013 (try again later). The live consumer closes with 1009 and
1013, so Daphne's `serverClose` is given a path for them that sends the
close frame directly (what autobahn's `sendClose` does after its check).
"""

from __future__ import annotations

# Codes an endpoint may send (1004-1006 and 1015 are reserved).
SENDABLE = {1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}


def install() -> None:
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:
        return
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
