"""Hostile media: WAVs of 8, 12 and 16 channels (no channel layout) with
"transcribe each channel separately" once segfaulted the worker in PyAV's
resampler. Uploads past the 5 channels Scribe takes separately are refused
with a message (nothing kept); a worker given one anyway decodes each
channel in a child process, so no file can crash the worker itself."""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests import web
from tests.transcripts.factories import stored_media
from tests.transcripts.test_local_engine import LEFT, RIGHT, read_mono
from tests.transcripts.test_resumable_upload import upload_in_pieces
from tests.transcripts.test_upload import UPLOAD_URL, snapshot_state
from transcripts.engines.base import TranscriptionOptions
from transcripts.jobs.queue import enqueue
from transcripts.media.decoder import DecodeFailed, MediaSource, isolated_chunks
from transcripts.media.pcm import SAMPLE_RATE
from transcripts.models import Status, Transcript, TranscriptResult

CHANNEL_COUNTS = (8, 12, 16)


def tone_hz(channel: int) -> int:
    return 200 + 50 * channel


def many_channels(path: Path, channels: int, seconds: float = 1.0, tracks: dict[int, np.ndarray] | None = None) -> Path:
    """A plain PCM WAV of `channels` channels (FFmpeg gives it no layout):
    a tone of its own in each channel, or the given 16 kHz tracks."""
    tracks = tracks or {}
    length = max([int(seconds * SAMPLE_RATE), *(len(track) for track in tracks.values())])
    time = np.arange(length) / SAMPLE_RATE
    columns = []
    for channel in range(channels):
        if channel in tracks:
            column = np.zeros(length, dtype=np.int16)
            column[: len(tracks[channel])] = tracks[channel]
        elif tracks:
            column = np.zeros(length, dtype=np.int16)
        else:
            column = (0.3 * np.sin(2 * np.pi * tone_hz(channel) * time) * 32767).astype(np.int16)
        columns.append(column)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(np.stack(columns, axis=1).astype("<i2").tobytes())
    return path


def peak_hz(audio: np.ndarray) -> int:
    second = audio[:SAMPLE_RATE]
    return int(np.abs(np.fft.rfft(second)).argmax() * SAMPLE_RATE / len(second))


@pytest.mark.parametrize("channels", CHANNEL_COUNTS)
def test_each_channel_is_decoded_in_a_child_process(tmp_path, channels):
    path = many_channels(tmp_path / f"{channels}.wav", channels)
    for channel in (0, channels // 2, channels - 1):
        audio = np.concatenate(list(isolated_chunks(MediaSource(path=str(path)), channel)))
        assert len(audio) == SAMPLE_RATE
        assert peak_hz(audio) == tone_hz(channel)
    mix = np.concatenate(list(isolated_chunks(MediaSource(path=str(path)), None)))
    assert len(mix) == SAMPLE_RATE


def test_a_decoder_that_crashes_fails_the_decode_not_this_process():
    crash = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]
    with pytest.raises(DecodeFailed, match="decoder crashed on this recording"):
        list(isolated_chunks(MediaSource(path="unused"), 0, command=crash))


def test_a_file_that_is_not_audio_fails_with_a_message(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all" * 100)
    with pytest.raises(DecodeFailed, match="could not be decoded") as failed:
        list(isolated_chunks(MediaSource(path=str(junk)), None))
    assert str(tmp_path) not in str(failed.value)  # paths stay in the log


def post(client, path: Path, **fields: str):
    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="audio/wav")
    return client.post(
        UPLOAD_URL, {"file": upload, "engine": "local", **fields}, headers={"accept": "application/json"}
    )


@pytest.mark.django_db
@pytest.mark.parametrize("channels", CHANNEL_COUNTS)
def test_separate_channels_past_the_limit_are_refused_at_upload(auth_client, tmp_path, channels):
    path = many_channels(tmp_path / f"{channels}.wav", channels)
    before = snapshot_state()
    response = post(auth_client, path, multichannel="on")
    assert response.status_code == 400, response.content
    assert f"has {channels} channels" in response.json()["error"]
    assert "at most 5" in response.json()["error"]
    assert snapshot_state() == before


@pytest.mark.django_db
def test_the_same_file_mixed_is_accepted(auth_client, tmp_path):
    response = post(auth_client, many_channels(tmp_path / "16.wav", 16))
    assert response.status_code == 201, response.content
    assert Transcript.objects.get(pk=response.json()["id"]).media.channels == 16


@pytest.mark.django_db
@pytest.mark.parametrize("channels", CHANNEL_COUNTS)
def test_a_resumable_upload_past_the_limit_is_refused_and_removed(auth_client, tmp_path, channels):
    data = many_channels(tmp_path / f"{channels}.wav", channels).read_bytes()
    before = snapshot_state()
    response = upload_in_pieces(auth_client, data, 100_000, filename="many.wav", multichannel="true")
    assert response.status_code == 400, response.content
    assert f"has {channels} channels" in response.content.decode()
    assert Transcript.objects.count() == before["rows"][1]
    assert snapshot_state()["media"] == before["media"]


@pytest.mark.slow
def test_the_worker_transcribes_every_channel_of_files_it_once_crashed_on(make_site, user, speech, tmp_path):
    site = make_site()
    worker = site.processes[-1]
    first, last = read_mono(speech(LEFT)), read_mono(speech(RIGHT))
    jobs = {}
    for channels in CHANNEL_COUNTS:
        path = many_channels(tmp_path / f"{channels}.wav", channels, tracks={0: first, channels - 1: last})
        transcript = Transcript.objects.create(
            owner=user,
            media=stored_media(user, path),
            title=f"{channels} channels",
            engine="local",
            options=TranscriptionOptions(multichannel=True).to_dict(),
            duration=len(first) / SAMPLE_RATE,
        )
        enqueue(transcript)
        jobs[channels] = transcript.pk
    for channels, pk in jobs.items():
        transcript = web.wait_for_status(pk, Status.DONE, Status.FAILED, timeout=240)
        assert transcript.status == Status.DONE, transcript.error + site.logs()
        words = TranscriptResult.objects.get(transcript=transcript).data["words"]
        assert {word.get("channel_index") for word in words if word["type"] == "word"} == {0, channels - 1}
        assert transcript.attempts == 1  # no crash, no retry
    assert worker.popen.poll() is None
    assert "Segmentation fault" not in worker.output() and "signal 11" not in worker.output()
