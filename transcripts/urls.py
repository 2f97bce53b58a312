from django.urls import path

from transcripts import views

app_name = "transcripts"

urlpatterns = [
    path("", views.library, name="library"),
    path("upload/", views.upload_page, name="upload_page"),
    path("upload/file/", views.upload, name="upload"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/status/", views.job_status, name="status"),
    path("<int:pk>/rename/", views.rename, name="rename"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/retry/", views.retry, name="retry"),
]
