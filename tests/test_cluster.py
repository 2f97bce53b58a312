"""A small cluster with no shared disk: two web processes (Daphne) and two
workers, each with its own DATA_DIR, sharing only Postgres, Redis and an S3
bucket (moto's server on loopback), plus one Celery beat. It shows:

- an upload sent through both web processes (half the pieces to each) and
  transcribed by a worker that never saw either one's disk;
- playback, a share page and exports served by the other web process;
- a live session dropped on web A and resumed on web B, saved with one
  recording (one object in the bucket, both parts of the audio);
- a worker SIGKILLed mid-job, the job finishing once on the other.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from realtime.models import LiveSession
from tests import support, web
from tests.conftest import site_env
from tests.fakes.scribe import FakeScribe
from tests.media_corpus import SENTENCE
from tests.realtime.live_support import LiveClient, silence, tone
from tests.transcripts.test_jobs import long_speech
from tests.transcripts.test_upload import listing
from transcripts import sharing
from transcripts.models import Status, Transcript, TranscriptResult

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FAST_SWEEP = {"JOB_LEASE_SECONDS": "6", "SWEEP_INTERVAL_SECONDS": "2"}
RECEIVED = "Task transcripts.tasks.transcribe["


class Cluster:
    def __init__(self, root: Path, shared: dict[str, str]):
        self.root, self.shared = root, shared
        self.processes: list[support.Process] = []
        self.webs = [self.start_web(name) for name in ("web-a", "web-b")]
        self.workers = [self.start_worker(name) for name in ("worker-1", "worker-2")]
        self.beat = self.start_beat()

    def env(self, name: str) -> dict[str, str]:
        data_dir = self.root / name
        data_dir.mkdir()
        return {**site_env(**self.shared), "DATA_DIR": str(data_dir)}

    def start_web(self, name: str) -> str:
        port = support.free_port()
        self.processes.append(support.start_daphne(self.env(name), port))
        return f"http://127.0.0.1:{port}"

    def start_worker(self, name: str) -> support.Process:
        worker = support.start_worker(self.env(name), name=name)
        self.processes.append(worker)
        return worker

    def start_beat(self) -> support.Process:
        env = self.env("beat")
        command = [sys.executable, "-m", "celery", "-A", "project", "beat", "-s", f"{env['DATA_DIR']}/schedule"]
        beat = support.Process(command, env, "beat")
        self.processes.append(beat)
        return beat

    def disk(self, name: str) -> set[str]:
        """What a process left in its DATA_DIR, logs and beat schedule aside."""
        return {path for path in listing(self.root / name) if not path.endswith((".log", "schedule"))}

    def logs(self) -> str:
        return "\n".join(process.output()[-3000:] for process in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


@pytest.fixture
def fake():
    with FakeScribe() as server:
        server.realtime.script = ["alpha bravo charlie", "delta echo foxtrot"]
        yield server


@pytest.fixture
def cluster(tmp_path, s3_server, s3_bucket, fake):
    running = Cluster(
        tmp_path,
        {
            **s3_server.env(s3_bucket),
            **FAST_SWEEP,
            "ELEVENLABS_API_KEY": fake.api_key,
            "ELEVENLABS_BASE_URL": fake.base_url,
            "UPLOAD_CHUNK_SIZE": "1MiB",
        },
    )
    running.bucket = s3_bucket
    yield running
    running.stop()
    print(running.logs())  # shown when the test failed


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", "alice@example.com", "a long and unusual passphrase")


def tus_across(webs: list[str], session: str, path: Path) -> int:
    """Upload `path` in pieces, alternating between the web processes."""
    data = path.read_bytes()
    clients = [web.signed_in(base, session) for base in webs]
    encoded = web.tus_metadata(filename=path.name, engine="local")
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)), "Upload-Metadata": encoded}
    created = clients[0].post(web.TUS_PATH, headers=headers)
    assert created.status_code == 201, created.text
    path_only = httpx.URL(created.headers["Location"]).path
    offset, turn, piece = 0, 0, 64 * 1024
    while offset < len(data):
        response = clients[turn % 2].patch(
            path_only,
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
            content=data[offset : offset + piece],
        )
        assert response.status_code == 204, response.text
        offset, turn = int(response.headers["Upload-Offset"]), turn + 1
    for client in clients:
        client.close()
    return int(response.headers["Transcript-Location"].strip("/").rsplit("/", 1)[1])


def test_no_shared_disk_uploads_playback_live_resume_and_a_killed_worker(cluster, s3_server, fake, alice):
    web_a, web_b = cluster.webs
    session = web.session_cookie(alice)

    # An upload through both web processes, transcribed by a worker that saw neither's disk.
    recording = support.speech_file(SENTENCE)
    pk = tus_across([web_a, web_b], session, recording)
    transcript = web.wait_for_status(pk, Status.DONE, Status.FAILED)
    assert transcript.status == Status.DONE, transcript.error + cluster.logs()
    assert "lazy dog" in transcript.result.text.lower()
    key = transcript.media.file.name
    assert s3_server.objects(cluster.bucket) == [key] and s3_server.unfinished_uploads(cluster.bucket) == []

    # Playback, exports and a share page, all through web B.
    data = recording.read_bytes()
    with web.signed_in(web_b, session) as http:
        played = http.get(f"/transcripts/{pk}/media/", headers={"Range": "bytes=100-4099"})
        assert played.status_code == 206 and played.content == data[100:4100]
        srt = http.get(f"/transcripts/{pk}/export/srt/")
        assert srt.status_code == 200 and "lazy dog" in " ".join(srt.text.lower().split())  # across a line break
    _link, token = sharing.create_link(Transcript.objects.get(pk=pk), allow_audio=True)
    shared = httpx.get(f"{web_b}/s/{token}/media/", headers={"Range": "bytes=0-43"})
    assert shared.status_code == 206 and shared.content == data[:44]

    # A live session dropped on web A and resumed on web B.
    live_pk, first_part, second_part = live_across(web_a, web_b, session)
    live = Transcript.objects.select_related("media", "result").get(pk=live_pk)
    assert live.result.text == "alpha bravo charlie delta echo foxtrot"
    assert LiveSession.objects.count() == 1
    stored = s3_server.client().get_object(Bucket=cluster.bucket, Key=live.media.file.name)["Body"].read()
    assert stored[44:] == first_part + second_part and live.media.size == len(stored)
    assert sorted(s3_server.objects(cluster.bucket)) == sorted([key, live.media.file.name])
    assert s3_server.unfinished_uploads(cluster.bucket) == []

    # A worker SIGKILLed mid-job: the other one finishes it, once.
    pk = kill_a_worker_mid_job(cluster, session)
    transcript = web.wait_for_status(pk, Status.DONE, Status.FAILED, timeout=240)
    assert transcript.status == Status.DONE, transcript.error + cluster.logs()
    assert transcript.attempts == 2 and TranscriptResult.objects.filter(transcript=transcript).count() == 1
    time.sleep(3)  # a late duplicate delivery would have run by now
    assert TranscriptResult.objects.filter(transcript=transcript).count() == 1

    # Nothing of the media ever landed on any process's disk.
    for name in ("web-a", "web-b", "worker-1", "worker-2"):
        assert not [path for path in cluster.disk(name) if path.startswith(("media/", "tmp/"))], name


def live_across(web_a: str, web_b: str, session: str) -> tuple[int, bytes, bytes]:
    first_part = tone(1.0) + silence(1.2)
    second_part = tone(1.0) + silence(1.2)
    result: dict = {}

    async def run() -> None:
        async with LiveClient(web_a, session, query="engine=scribe") as before:
            ready = await before.wait_for("ready")
            await before.stream(first_part, realtime=2)
            await before.wait_for("committed", text="alpha bravo charlie")
            before.ws.transport.abort()  # the network drops
        resume = f"engine=scribe&resume={ready['session']}&shown=1"
        async with LiveClient(web_b, session, query=resume) as after:
            again = await after.wait_for("ready", timeout=20)
            assert again["session"] == ready["session"] and again["resumed"] is True
            await after.stream(second_part, realtime=2)
            await after.wait_for("committed", text="delta echo foxtrot")
            result["ended"] = await after.stop()
        await sync_to_async(lambda: None)()

    asyncio.run(run())
    return result["ended"]["transcript"], first_part, second_part


def kill_a_worker_mid_job(cluster: Cluster, session: str) -> int:
    received = [worker.output().count(RECEIVED) for worker in cluster.workers]
    with web.signed_in(cluster.webs[1], session) as http:
        pk = web.tus_upload(http, long_speech(), piece=1024 * 1024)
    support.wait_until(
        lambda: Transcript.objects.get(pk=pk).progress > 0, 120, interval=0.1, message="the job to make progress"
    )
    pairs = zip(cluster.workers, received, strict=True)
    busy = next(worker for worker, before in pairs if worker.output().count(RECEIVED) > before)
    busy.kill()  # SIGKILL to the worker's whole process group
    busy.popen.wait(10)
    assert Transcript.objects.get(pk=pk).status == Status.TRANSCRIBING
    return pk
