from django.urls import path

from realtime.consumers import JobsConsumer
from realtime.live import LiveConsumer, LiveViewerConsumer

websocket_urlpatterns = [
    path("ws/jobs/", JobsConsumer.as_asgi()),
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/live/view/<str:token>/", LiveViewerConsumer.as_asgi()),
]
