from django.contrib import admin
from django.urls import include, path

from project import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/", views.account, name="account"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("transcripts/", include("transcripts.urls")),
    path("live/", include("realtime.urls")),
    path("api/", include("api.urls")),
    path("", include("api.compat.urls")),
    path("", include("transcripts.public_urls")),
    path("admin/", admin.site.urls),
]

handler404 = "api.problems.page_not_found"
