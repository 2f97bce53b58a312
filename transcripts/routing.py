from django.urls import path

from transcripts.jobs.consumer import JobsConsumer

websocket_urlpatterns = [
    path("ws/jobs/", JobsConsumer.as_asgi()),
]
