"""An upload gives its database connection back to the pool while its file
is probed: the probe is a child process that takes seconds on a busy
machine, and uploads holding connections meanwhile starved the pool (the
production load test's pages waited out DATABASE_POOL_TIMEOUT and failed)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from tests import media_corpus as corpus
from transcripts import services
from transcripts.media import probe as probe_module


@pytest.mark.django_db(transaction=True)  # outside a test transaction, as a request runs
def test_no_database_connection_is_held_while_an_upload_is_probed(client, django_user_model, monkeypatch):
    user = django_user_model.objects.create_user("dana", "dana@example.com", "pw-unused-here")
    client.force_login(user)
    held = []
    real_probe = probe_module.probe

    def watched_probe(path, timeout):
        held.append(connection.connection is not None)
        return real_probe(path, timeout)

    monkeypatch.setattr(services, "probe", watched_probe)
    upload = SimpleUploadedFile("note.wav", corpus.silent_wav(1.0), content_type="audio/wav")
    response = client.post(
        "/transcripts/upload/file/", {"file": upload, "engine": "local"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 201, response.content
    assert held == [False]
