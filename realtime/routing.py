from django.urls import path

from realtime.live import LiveConsumer
from realtime.viewers import LiveViewerConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/live/view/<str:token>/", LiveViewerConsumer.as_asgi()),
]
