"""Live captions in a real browser: headless Chromium with a speech recording
as its microphone, captions from the local engine and from Scribe (the fake,
transcribing what it receives with the local engine), the saved session in
the library, a second browser on the live link seeing the same words, and
the page riding out a dropped connection."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import numpy as np
import pytest

from realtime.models import LiveSession
from tests.browser.conftest import TEST_CONTEXT
from tests.fakes.scribe import FakeScribe
from tests.realtime.live_support import session_cookie, speech_pcm
from tests.support import GENERATED, CuttableRelay

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SPEECH = (
    "Please remember to water the garden every morning before the sun gets too hot. "
    "The children walked to the library after school on a quiet afternoon."
)
FAKE_MIC_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def word_list(text: str) -> list[str]:
    """Letters only: page text also holds timestamps ("0:00Please")."""
    return re.findall(r"[a-z]+", text.lower())


def words(text: str) -> set[str]:
    return set(word_list(text))


def microphone_file(speech) -> Path:
    """The speech, starting 0.3 s in (while the audio graph is set up), as a
    16 kHz WAV for Chromium's fake microphone. The session is still opening
    when the first words are spoken: the page holds that audio until the
    server is ready, so they must not be lost."""
    target = GENERATED / "live-microphone-early-words.wav"
    if not target.exists():
        pcm = speech_pcm(speech(SPEECH))
        padded = b"\0\0" * 4800 + pcm + b"\0\0" * 48000
        with wave.open(str(target), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16000)
            out.writeframes(padded)
    return target


@pytest.fixture
def mic_browser(chromium, speech):
    """A separate Chromium whose microphone plays the speech once."""
    path = microphone_file(speech)
    browser = chromium.browser_type.launch(
        executable_path="/usr/bin/chromium",
        args=[
            *FAKE_MIC_ARGS,
            f"--use-file-for-fake-audio-capture={path}%noloop",
            "--no-sandbox",
            "--disable-gpu",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    yield browser
    browser.close()


def local_transcriber(pcm: bytes) -> str:
    from transcripts.engines.local import load_model

    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    segments, _ = load_model(1).transcribe(audio, beam_size=1, temperature=0.0, condition_on_previous_text=False)
    return " ".join(segment.text.strip() for segment in segments)


def signed_in_page(browser, base_url: str, user, **options):
    context = browser.new_context(**TEST_CONTEXT, **options)
    context.add_cookies([{"name": "sessionid", "value": session_cookie(user), "url": base_url}])
    return context, context.new_page()


def live_state_is(page, state: str, timeout: float) -> None:
    page.wait_for_function(f"document.getElementById('live-state').dataset.state === '{state}'", timeout=timeout)


def committed_words_at_least(page, count: int, timeout: float) -> None:
    page.wait_for_function(
        f"document.getElementById('live-committed').textContent.split(/\\s+/).filter(Boolean).length >= {count}",
        timeout=timeout,
    )


def run_live_session(mic_browser, chromium, site, user, engine: str) -> None:
    context, page = signed_in_page(mic_browser, site.base_url, user)
    page.on("console", lambda message: print("console:", message.text))
    page.goto(f"{site.base_url}/live/")
    page.select_option("#live-engine", engine)
    page.click("#live-start")
    live_state_is(page, "live", timeout=60_000)
    page.click("#live-share-create")
    link = page.locator("#live-share-url")
    link.wait_for(timeout=10_000)
    viewer_context = chromium.new_context(**TEST_CONTEXT)  # anonymous: only the link
    viewer = viewer_context.new_page()
    viewer.goto(link.input_value())
    viewer.wait_for_function("document.getElementById('viewer-state').dataset.state === 'live'", timeout=20_000)

    committed_words_at_least(page, 6, timeout=90_000)
    assert page.locator("#live-elapsed").text_content() != "0:00"
    page.wait_for_timeout(3_000)  # let the rest of the recording play
    page.click("#live-stop")
    page.locator("#live-saved a").wait_for(timeout=60_000)
    owner_text = page.locator("#live-committed").text_content()
    assert len(words(owner_text) & words(SPEECH)) >= 8, owner_text
    assert {"please", "remember"} <= words(owner_text), owner_text  # said before the server was ready

    # The viewer saw the same captions, then the saved transcript.
    viewer.locator("#viewer-transcript").wait_for(timeout=30_000)
    assert words(viewer.locator("#viewer-transcript").text_content()) == words(owner_text)

    page.click("#live-saved a")
    page.wait_for_url(re.compile(r"/transcripts/\d+/"))
    assert len(words(page.locator("article.transcript").text_content()) & words(SPEECH)) >= 8
    page.goto(f"{site.base_url}/transcripts/")
    assert page.get_by_text(re.compile(r"Live session")).count() >= 1
    viewer_context.close()
    context.close()


def test_live_captions_with_the_local_engine(make_site, mic_browser, chromium, user):
    site = make_site(worker=False)
    try:
        run_live_session(mic_browser, chromium, site, user, "local")
    finally:
        print(site.logs())


def test_live_captions_with_scribe_through_the_fake(make_site, mic_browser, chromium, user):
    with FakeScribe() as fake:
        fake.realtime.transcriber = local_transcriber
        site = make_site(worker=False, ELEVENLABS_API_KEY=fake.api_key, ELEVENLABS_BASE_URL=fake.base_url)
        try:
            run_live_session(mic_browser, chromium, site, user, "scribe")
        finally:
            print(site.logs())
        assert fake.realtime.sessions and fake.realtime.sessions[0].auth == "token"


def test_a_dropped_connection_is_resumed_by_the_page(make_site, mic_browser, user):
    """The network drops mid-sentence (no close frame): the page says so,
    reconnects on its own and resumes the same session, sending the audio it
    held meanwhile. One session is saved, with words from before the drop,
    from during it and from after."""
    site = make_site(worker=False)
    relay = CuttableRelay(int(site.base_url.rsplit(":", 1)[1]))
    base_url = f"http://127.0.0.1:{relay.port}"
    try:
        context, page = signed_in_page(mic_browser, base_url, user)
        page.goto(f"{base_url}/live/")
        page.select_option("#live-engine", "local")
        page.click("#live-start")
        live_state_is(page, "live", timeout=60_000)
        committed_words_at_least(page, 2, timeout=60_000)
        assert relay.cut() >= 1
        live_state_is(page, "reconnecting", timeout=10_000)
        assert "Connection lost" in page.locator("#live-message").text_content()
        live_state_is(page, "live", timeout=30_000)
        page.wait_for_timeout(8_000)  # the rest of the recording plays
        page.click("#live-stop")
        page.locator("#live-saved a").wait_for(timeout=60_000)
        shown = page.locator("#live-committed").text_content()
        context.close()
    finally:
        relay.close()
        print(site.logs())
    session = LiveSession.objects.get(owner=user)  # resumed, not started again
    saved = session.transcript.result.text
    assert word_list(saved) == word_list(shown)  # what was committed while away was sent, once
    assert {"please", "remember"} <= words(saved), saved  # before the drop
    assert len(words(saved) & words(SPEECH)) >= 10, saved
    assert words(saved) & {"children", "library", "school", "quiet", "afternoon"}, saved  # after it


@pytest.mark.parametrize(
    "fake_device, permissions, message",
    [
        (True, [], "Microphone access was denied"),  # the browser's prompt answered "Block"
        (False, ["microphone"], "No microphone was found"),
    ],
    ids=["denied", "no-microphone"],
)
def test_the_page_says_why_the_microphone_did_not_open(make_site, chromium, user, fake_device, permissions, message):
    site = make_site(worker=False)
    args = ["--use-fake-device-for-media-stream"] if fake_device else []
    browser = chromium.browser_type.launch(executable_path="/usr/bin/chromium", args=[*args, "--no-sandbox"])
    try:
        _context, page = signed_in_page(browser, site.base_url, user, permissions=permissions)
        page.goto(f"{site.base_url}/live/")
        page.click("#live-start")
        page.locator("#live-message").filter(has_text=message).wait_for(timeout=10_000)
        assert page.locator("#live-start").is_enabled()  # press Start again once it is sorted out
        assert not LiveSession.objects.exists()  # nothing was opened on the server
    finally:
        browser.close()


def test_a_web_server_killed_mid_session_loses_no_speech_and_splits_nothing(make_site, mic_browser, user):
    """Daphne is SIGKILLed mid-sentence and restarted on the same port: the
    page keeps reconnecting while the server takes the dead connection's
    session to be gone (three silent heartbeats), holding the audio said
    meanwhile, then resumes the same session and sends that audio. One
    session is saved, with the words said while the server was down."""
    from tests import support

    site = make_site(worker=False)
    port = int(site.base_url.rsplit(":", 1)[1])
    try:
        context, page = signed_in_page(mic_browser, site.base_url, user)
        page.goto(f"{site.base_url}/live/")
        page.select_option("#live-engine", "local")
        page.click("#live-start")
        live_state_is(page, "live", timeout=60_000)
        committed_words_at_least(page, 2, timeout=60_000)
        site.processes[0].kill()  # no close frame, no hand-over, no heartbeat any more
        live_state_is(page, "reconnecting", timeout=10_000)
        site.processes.append(support.start_daphne(site.env, port))
        live_state_is(page, "live", timeout=60_000)
        page.wait_for_timeout(12_000)  # the held audio goes up, paced, and is transcribed
        page.click("#live-stop")
        page.locator("#live-saved a").wait_for(timeout=60_000)
        context.close()
    finally:
        print(site.logs())
    session = LiveSession.objects.get(owner=user)  # resumed, not started again
    saved = session.transcript.result.text
    assert {"please", "remember"} <= words(saved), saved  # before the kill
    assert words(saved) & {"children", "library", "school", "quiet", "afternoon"}, saved  # said while it was down
