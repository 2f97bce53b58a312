"""Progress is best-effort: when the channel layer is unreachable (refused,
or a server that accepts and never answers) a job still runs to the end,
promptly, and the failure is only logged."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.fakes.scribe import FakeScribe
from tests.transcripts.test_scribe_jobs import make_job, run
from transcripts.jobs import progress
from transcripts.models import Status

# What today's Redis client would wait on a silent server before giving up.
SILENT_SERVER_TIMEOUT = 30


class SilentServer:
    """A TCP server that accepts connections and never answers: a Redis
    host that is up at the TCP level but hung."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


def refused_port() -> int:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture(params=["refused", "silent"])
def unreachable_layer(request, settings) -> Iterator[str]:
    silent = SilentServer() if request.param == "silent" else None
    port = silent.port if silent else refused_port()
    settings.PROGRESS_POLL_SECONDS = 0
    settings.PROGRESS_PUBLISH_TIMEOUT_SECONDS = 1
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{port}/0", "socket_timeout": SILENT_SERVER_TIMEOUT}]},
        }
    }
    progress.flush()
    progress._sender_instance = None  # a fresh sender, that logs its first failure
    yield request.param
    if silent:
        silent.close()


@pytest.fixture
def fake():
    with FakeScribe() as server:
        yield server


@pytest.mark.django_db
def test_a_job_finishes_promptly_when_progress_cannot_be_published(unreachable_layer, settings, fake, user, caplog):
    settings.ELEVENLABS_API_KEY = fake.api_key
    settings.ELEVENLABS_BASE_URL = fake.base_url
    settings.SCRIBE_WEBHOOK_SECRETS = []
    started = time.monotonic()
    transcript = run(make_job(user))
    elapsed = time.monotonic() - started
    assert transcript.status == Status.DONE, transcript.error
    assert transcript.result.text
    # Not held up by the layer: well inside what one blocked send would wait.
    assert elapsed < SILENT_SERVER_TIMEOUT / 3, elapsed
    assert progress.flush(timeout=3 * progress.publish_timeout() + 5)  # one message per job is left at most
    assert any("progress" in record.getMessage().lower() for record in caplog.records), caplog.text


@pytest.mark.django_db
def test_publish_job_never_raises(unreachable_layer, user):
    transcript = make_job(user)
    for _ in range(50):  # a burst while the layer is down: nothing raises, nothing waits
        progress.publish_job(transcript.pk)
    progress.flush(timeout=progress.publish_timeout() + 5)
