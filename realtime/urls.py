from django.urls import path

from realtime import views

app_name = "realtime"

urlpatterns = [
    path("", views.live_page, name="live"),
    path("<uuid:session_uuid>/links/", views.create_link, name="create_link"),
    path("links/<int:pk>/revoke/", views.revoke_link, name="revoke_link"),
    path("view/<str:token>/", views.viewer, name="viewer"),
]
