from django.urls import path

from transcripts import page_views, views

app_name = "transcripts"

urlpatterns = [
    path("", views.library, name="library"),
    path("upload/", views.upload_page, name="upload_page"),
    path("upload/file/", views.upload, name="upload"),
    path("<int:pk>/", page_views.detail, name="detail"),
    path("<int:pk>/status/", views.job_status, name="status"),
    path("<int:pk>/rename/", views.rename, name="rename"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/retry/", views.retry, name="retry"),
    path("<int:pk>/media/", page_views.media, name="media"),
    path("<int:pk>/export/<str:fmt>/", page_views.export, name="export"),
    path("<int:pk>/edit/speaker/", page_views.rename_speaker, name="rename_speaker"),
    path("<int:pk>/edit/turn/", page_views.reassign_turn, name="reassign_turn"),
    path("<int:pk>/edit/words/", page_views.correct_words, name="correct_words"),
    path("<int:pk>/edit/revert/", page_views.revert, name="revert"),
    path("<int:pk>/shares/", page_views.shares, name="shares"),
    path("<int:pk>/shares/<int:link_id>/revoke/", page_views.revoke_share, name="revoke_share"),
]
