"""Live recordings in an S3 bucket (moto on loopback): the recording is saved
to the bucket as it streams, a session resumed by another writer (another
web node: nothing shared but the bucket) continues the same object, a
writer that dies loses at most its last checkpoint, and the end leaves one
WAV with a true header and no pieces or unfinished uploads behind."""

from __future__ import annotations

import io
import wave

import pytest

from realtime import recording
from realtime.recording import HEADER_BYTES, RecordingWriter

pytestmark = pytest.mark.django_db

PART = 5 * 1024 * 1024


@pytest.fixture
def bucket(settings, s3_media):
    settings.S3_PART_SIZE = PART
    settings.LIVE_RECORDING_CHECKPOINT_SECONDS = 1  # 32 KB pieces
    return s3_media


def audio(seconds: float, level: int) -> bytes:
    return level.to_bytes(2, "little", signed=True) * int(seconds * 16000)


def frames(pcm: bytes, size: int = 3200):
    for start in range(0, len(pcm), size):
        yield pcm[start : start + size]


def record(name: str, pcm: bytes, *, paced: bool = False) -> RecordingWriter:
    """Write `pcm` as a browser's frames. Paced: as if in real time, so
    each checkpoint is saved before the next second of audio arrives."""
    writer = RecordingWriter(name)
    for index, frame in enumerate(frames(pcm)):
        writer.write(frame)
        if paced and index % 10 == 9 and writer.job is not None:
            writer.job.result()
    return writer


def stored_wav(s3_server, bucket: str, name: str) -> tuple[int, bytes]:
    body = s3_server.client().get_object(Bucket=bucket, Key=name)["Body"].read()
    with wave.open(io.BytesIO(body)) as wav:
        return wav.getnframes(), wav.readframes(wav.getnframes())


def test_a_session_resumed_on_another_node_continues_the_same_object(s3_server, bucket):
    name = "media/1/live-abc.wav"
    first, second = audio(100, 7), audio(250, -9)  # 3.2 MB and 8 MB: the recording spans three parts
    node_a = record(name, first)
    assert isinstance(node_a, recording.BucketRecording)
    node_a.close()  # the browser dropped; web A lets go
    node_b = record(name, b"")  # the page reconnects to web B, which knows only the bucket
    assert node_b.bytes == len(first)
    for frame in frames(second):
        node_b.write(frame)
    node_b.close()
    assert s3_server.unfinished_uploads(bucket) == [name]  # part 2 is in already
    data, size, stored = recording.finalize(name)
    assert (data, size, stored) == (len(first + second), HEADER_BYTES + len(first + second), name)
    assert s3_server.objects(bucket) == [name] and s3_server.unfinished_uploads(bucket) == []
    frames_count, pcm = stored_wav(s3_server, bucket, name)
    assert frames_count == len(first + second) // 2 and pcm == first + second


def test_a_node_that_dies_loses_only_audio_since_its_last_checkpoint(s3_server, bucket):
    name = "media/1/live-crash.wav"
    record(name, audio(20, 5) + b"\x01", paced=True)  # never closed: its process was killed, mid-sample
    data, _, _ = recording.finalize(name)  # recovery, on whichever node runs it
    assert 19 * 32000 <= data <= 20 * 32000 and data % 2 == 0
    frames_count, pcm = stored_wav(s3_server, bucket, name)
    assert pcm == audio(20, 5)[:data]
    assert s3_server.objects(bucket) == [name]


def test_a_short_recording_is_one_plain_object_and_discarding_leaves_nothing(s3_server, bucket):
    name = "media/1/live-short.wav"
    record(name, audio(3, 1)).close()
    assert recording.finalize(name)[0] == 3 * 32000
    assert stored_wav(s3_server, bucket, name)[1] == audio(3, 1)
    other = "media/1/live-gone.wav"
    record(other, audio(200, 2)).close()  # past a part: a multipart upload is open
    recording.discard(other)
    assert s3_server.objects(bucket) == [name] and s3_server.unfinished_uploads(bucket) == []
