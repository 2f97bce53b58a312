"""The Scribe client against the fake over real sockets: encoding details,
streaming, the concurrency cap, Retry-After handling and error wording."""

from __future__ import annotations

import json
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.fakes.scribe import FakeScribe, Fault
from transcripts.engines import PermanentEngineError, TranscriptionOptions
from transcripts.engines.scribe import client as scribe_client
from transcripts.engines.scribe import engine as scribe_engine
from transcripts.engines.scribe.client import MediaSource, ScribeBusy, ScribeClient
from transcripts.engines.scribe.slots import LocalSlots, NoFreeSlot

AUDIO = b"RIFF" + b"\1" * 5000


@pytest.fixture
def fake():
    with FakeScribe() as server:
        yield server


def client_for(fake, **kwargs) -> ScribeClient:
    slots = kwargs.pop("slots", LocalSlots(50))
    return ScribeClient(
        api_key=fake.api_key,
        base_url=fake.base_url,
        model="scribe_v2",
        http=httpx.Client(timeout=30),
        slots=slots,
        **kwargs,
    )


def bytes_source(data: bytes = AUDIO) -> MediaSource:
    import io

    return MediaSource(filename="a.wav", content_type="audio/wav", open=lambda: io.BytesIO(data))


def test_additional_formats_and_metadata_are_single_json_parts(fake):
    body = client_for(fake).speech_to_text(
        bytes_source(),
        TranscriptionOptions(),
        webhook=True,
        webhook_metadata={"transcript_id": 5},
        additional_formats=[{"format": "srt", "max_characters_per_line": 30}, {"format": "txt"}],
    )
    assert body["transcription_id"]
    (request,) = fake.stt_requests()
    assert json.loads(request.fields("additional_formats")[0])[0] == {"format": "srt", "max_characters_per_line": 30}
    assert len(request.fields("additional_formats")) == 1
    assert ("additional_formats", "application/json") in request.part_content_types
    assert request.fields("webhook") == ["true"]
    assert request.fields("webhook_metadata") == ['{"transcript_id":5}']
    assert ("file", "audio/wav") in request.part_content_types


def test_source_url_is_sent_instead_of_a_file(fake, s3_server, s3_bucket):
    s3_server.client().put_object(Bucket=s3_bucket, Key="media/a.wav", Body=b"RIFF" + bytes(996))
    url = s3_server.client().generate_presigned_url(
        "get_object", Params={"Bucket": s3_bucket, "Key": "media/a.wav"}, ExpiresIn=60
    )
    client_for(fake).speech_to_text(MediaSource(filename="a.wav", url=url), TranscriptionOptions())
    (request,) = fake.stt_requests()
    assert request.fields("source_url") == [url]
    assert request.fields("file") == []
    assert fake.fetched[0][:3] == (url, 200, 1000)  # the fake fetched it, as Scribe would
    assert request.headers["Content-Type"].startswith("multipart/form-data")


def test_a_large_file_is_streamed_not_read_into_memory(fake, tmp_path):
    big = tmp_path / "big.wav"
    size = 300 * 1024 * 1024
    with open(big, "wb") as handle:
        handle.write(b"RIFF")
        handle.truncate(size)  # sparse: no disk or memory cost to make
    tracemalloc.start()
    try:
        client_for(fake).speech_to_text(
            MediaSource(filename="big.wav", open=lambda: open(big, "rb")), TranscriptionOptions()
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fake.stt_requests()[0].fields("file")[0]["size"] == size
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB for a {size / 1e6:.0f} MB upload"


def test_requests_above_the_limit_are_refused_here_not_sent(fake):
    """The client never waits for a slot (the job waits in the queue instead)."""
    fake.latency = 0.5
    client = client_for(fake, slots=LocalSlots(3))

    def transcribe(_) -> str:
        try:
            return client.speech_to_text(bytes_source(), TranscriptionOptions())["text"]
        except NoFreeSlot:
            return "no slot"

    with ThreadPoolExecutor(9) as pool:
        results = list(pool.map(transcribe, range(9)))
    assert results.count("no slot") >= 1 and fake.peak_in_flight <= 3
    assert len(fake.stt_requests()) == 9 - results.count("no slot")


def test_retry_after_http_date_and_ms(fake):
    response = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert scribe_client.retry_after(response) == 0.0  # in the past
    assert scribe_client.retry_after(httpx.Response(429, headers={"retry-after-ms": "1500"})) == 1.5
    assert scribe_client.retry_after(httpx.Response(429, headers={"Retry-After": "99999"})) == 300.0
    assert scribe_client.retry_after(httpx.Response(429)) == 0.0


def test_a_busy_scribe_is_reported_at_once_for_the_job_to_wait(fake) -> None:
    waits: list[float] = []
    fake.faults.push("stt", Fault("status", status=429, headers={"Retry-After": "7"}), Fault("status", status=502))
    client = client_for(fake, sleep=waits.append)
    with pytest.raises(ScribeBusy) as busy:
        client.speech_to_text(bytes_source(), TranscriptionOptions())
    assert busy.value.retry_after == 7 and "HTTP 429" in str(busy.value)
    with pytest.raises(ScribeBusy) as busy:
        client.speech_to_text(bytes_source(), TranscriptionOptions())
    assert busy.value.retry_after == 0 and "HTTP 502" in str(busy.value)
    assert waits == [] and len(fake.stt_requests()) == 2  # nothing slept, nothing resent in place


def test_lookups_are_still_retried_in_place(fake) -> None:
    waits: list[float] = []
    client = client_for(fake, sleep=waits.append)
    body = client.speech_to_text(bytes_source(), TranscriptionOptions())
    fake.faults.push("transcripts", Fault("status", status=503))
    assert (client.get_transcript(body["transcription_id"]) or {}).get("text") == body["text"]
    assert len(waits) == 1


def test_backoff_is_capped_and_jittered():
    values = [scribe_client.backoff(20) for _ in range(50)]
    assert all(30 <= value <= 60 for value in values)
    assert len(set(values)) > 1


def test_slow_answer_within_the_timeout_is_fine(fake):
    fake.faults.push("stt", Fault("slow", delay=1.0))
    assert client_for(fake).speech_to_text(bytes_source(), TranscriptionOptions())["text"]
    assert len(fake.stt_requests()) == 1


def test_get_and_delete_transcripts(fake):
    client = client_for(fake)
    body = client.speech_to_text(bytes_source(), TranscriptionOptions())
    assert client.get_transcript(body["transcription_id"])["text"] == body["text"]
    client.delete_transcript(body["transcription_id"])
    assert client.get_transcript(body["transcription_id"]) is None


def test_wrong_key_on_lookup_is_a_readable_permanent_error(fake):
    client = client_for(fake)
    client.api_key = "sk_nope"
    with pytest.raises(PermanentEngineError, match="API key"):
        client.get_transcript("abc")
    assert len(fake.requests_to("/transcripts/")) == 1


def test_canonical_from_multichannel_response():
    body = {
        "transcripts": [
            {
                "language_code": "eng",
                "language_probability": 0.9,
                "text": "hi",
                "channel_index": 0,
                "words": [{"text": "hi", "start": 0.5, "end": 0.7, "type": "word", "logprob": -0.1}],
            },
            {
                "language_code": "eng",
                "language_probability": 0.8,
                "text": "yo",
                "channel_index": 1,
                "words": [{"text": "yo", "start": 0.1, "end": 0.3, "type": "word", "logprob": -0.1}],
            },
        ],
        "transcription_id": "x",
    }
    transcript = scribe_engine.to_canonical(body)
    assert [w["text"] for w in transcript["words"] if w["type"] == "word"] == ["yo", "hi"]
    assert [w["channel_index"] for w in transcript["words"] if w["type"] == "word"] == [1, 0]
    assert transcript["text"] == "yo hi"
