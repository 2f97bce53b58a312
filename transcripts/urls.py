from django.urls import path

from transcripts.views import edits, exports, jobs, library, shares, transcript, tus, upload

app_name = "transcripts"

urlpatterns = [
    path("", library.library, name="library"),
    path("upload/", upload.upload_page, name="upload_page"),
    path("upload/file/", upload.upload, name="upload"),
    # Resumable uploads (tus): the path prefix has its own small body limit (media/limits.py).
    path("tus/", tus.collection, name="tus"),
    path("tus/<uuid:upload_id>/", tus.upload, name="tus_upload"),
    path("<int:pk>/", transcript.detail, name="detail"),
    path("<int:pk>/media/", transcript.media, name="media"),
    path("<int:pk>/status/", jobs.job_status, name="status"),
    path("<int:pk>/rename/", jobs.rename, name="rename"),
    path("<int:pk>/delete/", jobs.delete, name="delete"),
    path("<int:pk>/cancel/", jobs.cancel, name="cancel"),
    path("<int:pk>/retry/", jobs.retry, name="retry"),
    path("<int:pk>/retranscribe/", jobs.retranscribe, name="retranscribe"),
    path("<int:pk>/export/<str:fmt>/", exports.export, name="export"),
    path("<int:pk>/edit/speaker/", edits.rename_speaker, name="rename_speaker"),
    path("<int:pk>/edit/turn/", edits.reassign_turn, name="reassign_turn"),
    path("<int:pk>/edit/words/", edits.correct_words, name="correct_words"),
    path("<int:pk>/edit/revert/", edits.revert, name="revert"),
    path("<int:pk>/shares/", shares.shares, name="shares"),
    path("<int:pk>/shares/<int:link_id>/revoke/", shares.revoke_share, name="revoke_share"),
]
