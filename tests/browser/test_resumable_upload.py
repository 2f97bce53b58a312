"""A large upload in a real browser survives being cut mid-way: the page is
reloaded (the same file chosen again resumes where the server stands), then
the network drops (tus-js-client retries from the last piece the server
holds). No piece is sent from the start again, and the transcript is the
same as for the same file uploaded in one go."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage

from tests import support, web
from tests.browser.conftest import TEST_CONTEXT
from tests.media_corpus import SENTENCE
from transcripts.models import ResumableUpload, Transcript

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PIECE = 512 * 1024
# Upload bandwidth in the browser (bytes/s), so the upload is still going when it is cut.
UPLOAD_RATE = 3_000_000


def speech_then_silence(path, seconds: float):
    """A big recording: the sentence, then silence (a few MB; VAD skips it)."""
    with wave.open(str(support.speech_file(SENTENCE))) as source:
        params, frames = source.getparams(), source.readframes(source.getnframes())
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setparams(params)
        out.writeframes(frames)
        out.writeframes(b"\x00" * int(seconds * params.framerate * params.sampwidth * params.nchannels))
    path.write_bytes(buffer.getvalue())
    return path


def server_offset() -> int:
    upload = ResumableUpload.objects.order_by("-created").first()
    return upload.offset if upload else 0


def test_a_large_upload_cut_by_a_reload_and_a_network_drop_resumes_and_transcribes_the_same(
    make_site, chromium, tmp_path
):
    site = make_site(UPLOAD_CHUNK_SIZE=str(PIECE))
    relay = support.CuttableRelay(int(site.base_url.rsplit(":", 1)[1]))
    recording = speech_then_silence(tmp_path / "Long meeting.wav", seconds=200)  # about 8.9 MB
    size = recording.stat().st_size
    user = get_user_model().objects.create_user("dana", "dana@example.com", "a long and unusual passphrase")
    session = web.session_cookie(user)

    # The same file in one request, for the reference transcript.
    with web.signed_in(site.base_url, session) as http:
        reference = web.upload(http, recording)

    context = chromium.new_context(**TEST_CONTEXT, base_url=f"http://127.0.0.1:{relay.port}")
    context.add_cookies([{"name": "sessionid", "value": session, "url": f"http://127.0.0.1:{relay.port}"}])
    page = context.new_page()
    offsets: list[int] = []
    page.on(
        "request",
        lambda request: request.method == "PATCH" and offsets.append(int(request.headers["upload-offset"])),
    )

    def open_and_choose() -> None:
        page.goto("/transcripts/upload/")
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": UPLOAD_RATE},
        )
        page.set_input_files("#file-input", str(recording))

    open_and_choose()
    support.wait_until(lambda: server_offset() >= size // 4, 60, interval=0.05, message="a quarter uploaded")
    page.reload()  # the tab is reloaded mid-upload: choosing the file again resumes it
    sent_before_reload = len(offsets)
    open_and_choose()
    support.wait_until(lambda: server_offset() >= size * 2 // 3, 60, interval=0.05, message="two thirds uploaded")
    assert relay.cut() >= 1  # the network drops; tus-js-client retries from what the server holds

    page.wait_for_function("document.querySelector('#uploads tr[data-status=\"done\"]') !== null", timeout=120_000)
    context.close()
    relay.close()

    assert offsets[0] == 0 and 0 not in offsets[1:], offsets  # never started over
    assert offsets[sent_before_reload] >= size // 4  # the reloaded page went on from the server's offset
    # At most a piece or so sent twice per interruption.
    assert len(offsets) <= size // PIECE + 1 + 4, offsets
    resumed = Transcript.objects.exclude(pk=reference["id"]).get(owner=user)
    web.wait_for_status(resumed.pk, "done")
    done = web.wait_for_status(reference["id"], "done")
    assert resumed.media.size == size == done.media.size
    assert Path(default_storage.path(resumed.media.file.name)).read_bytes() == recording.read_bytes()
    assert resumed.result.text == done.result.text and "lazy dog" in resumed.result.text.lower()
