"""Renderers for endpoints that answer with files (media, exports): any
Accept header is fine there, and their errors are still problem JSON."""

from __future__ import annotations

import json

from rest_framework.renderers import BaseRenderer, JSONRenderer


class AnyMediaRenderer(BaseRenderer):
    media_type = "*/*"
    format = "file"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode()


BINARY_RENDERERS = [JSONRenderer, AnyMediaRenderer]
