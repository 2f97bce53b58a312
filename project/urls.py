from django.contrib import admin
from django.urls import include, path

from project import views
from transcripts import share_views
from transcripts.webhooks import scribe_webhook

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/", views.account, name="account"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("transcripts/", include("transcripts.urls")),
    path("live/", include("realtime.urls")),
    path("webhooks/scribe/", scribe_webhook, name="scribe-webhook"),
    path("s/<str:token>/", share_views.page, name="share"),
    path("s/<str:token>/media/", share_views.media, name="share_media"),
    path("s/<str:token>/export/<str:fmt>/", share_views.export, name="share_export"),
    path("admin/", admin.site.urls),
]
