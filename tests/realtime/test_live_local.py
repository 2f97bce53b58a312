"""The local live engine: faster-whisper on a rolling window, off the event
loop, through the real consumer in a Daphne process."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import sync_to_async

from realtime.models import LiveSession
from tests.realtime.live_support import LiveClient, session_cookie, silence, speech_pcm
from transcripts.models import Transcript

pytestmark = [pytest.mark.slow, pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

SENTENCE = (
    "Please remember to water the garden every morning before the sun gets too hot. "
    "The children walked to the library after school on a quiet afternoon."
)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


async def test_local_engine_streams_captions_and_saves_the_transcript(make_site, user, speech):
    running = await sync_to_async(make_site)(worker=False)
    pcm = speech_pcm(speech(SENTENCE)) + silence(1.0)
    cookie = await sync_to_async(session_cookie)(user)
    async with LiveClient(running.base_url, cookie, query="engine=local") as client:
        await client.wait_for("ready", timeout=60)
        await client.stream(pcm, realtime=1.0)
        ended = await client.stop()
    # How early text commits depends on how busy the cores are (see
    # bench/live_local.py for the lag); here: partials came, text committed.
    assert client.of_type("partial")
    heard = words(" ".join(m["text"] for m in client.of_type("committed")))
    assert len(heard & words(SENTENCE)) >= 12, heard
    transcript = await Transcript.objects.select_related("result").aget(pk=ended["transcript"])
    assert transcript.engine == "local" and transcript.status == "done"
    assert words(transcript.result.text) == heard
    timed = [w for w in transcript.result.data["words"] if w["type"] == "word"]
    assert all(0 <= w["start"] <= w["end"] <= len(pcm) / 32000 + 0.5 for w in timed)
    assert await LiveSession.objects.filter(transcript=transcript).aexists()
