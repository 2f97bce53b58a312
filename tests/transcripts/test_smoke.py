import pytest
from django.urls import reverse

from transcripts.models import Transcript


@pytest.mark.django_db
def test_library_needs_login(client):
    response = client.get(reverse("transcripts:library"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_upload_creates_a_queued_job(auth_client, speech, django_capture_on_commit_callbacks):
    path = speech("Hello from the smoke test.")
    with open(path, "rb") as file, django_capture_on_commit_callbacks(execute=False):
        response = auth_client.post(reverse("transcripts:upload"), {"file": file, "engine": "local"})
    assert response.status_code == 201, response.content
    transcript = Transcript.objects.get()
    assert transcript.status == "queued"
    assert transcript.media.duration > 1
