"""The compatible sockets' routes (api/routing.py gathers them)."""

from django.urls import path

from api.compat.scribe_realtime import ScribeRealtimeConsumer

websocket_urlpatterns = [
    path("v1/speech-to-text/realtime", ScribeRealtimeConsumer.as_asgi()),
]
