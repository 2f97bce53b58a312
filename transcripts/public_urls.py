"""URLs reached without an account: share pages (by token) and the Scribe
webhook (by signature)."""

from django.urls import path

from transcripts.views import public, webhooks

urlpatterns = [
    path("s/<str:token>/", public.page, name="share"),
    path("s/<str:token>/media/", public.media, name="share_media"),
    path("s/<str:token>/export/<str:fmt>/", public.export, name="share_export"),
    path("webhooks/scribe/", webhooks.scribe_webhook, name="scribe-webhook"),
]
