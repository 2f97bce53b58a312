from django.contrib import admin
from django.urls import include, path

from project import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/signup/<str:token>/", views.signup, name="signup_invite"),
    path("accounts/", views.account, name="account"),
    path("accounts/invites/", views.create_invite, name="create_invite"),
    path("accounts/invites/<int:pk>/revoke/", views.revoke_invite, name="revoke_invite"),
    path("accounts/password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("transcripts/", include("transcripts.urls")),
    path("live/", include("realtime.urls")),
    path("api/", include("api.urls")),
    path("", include("api.compat.urls")),
    path("", include("transcripts.public_urls")),
    path("admin/", admin.site.urls),
]

handler404 = "api.problems.page_not_found"
# A 503 when the database is unreachable, a friendly 500 otherwise (DEBUG off).
handler500 = "project.outage.server_error"
