"""The Scribe-compatible realtime socket (api/compat/scribe_realtime.py)."""

websocket_urlpatterns: list = []
