"""The official JavaScript client for Scribe realtime (`@elevenlabs/client`,
installed from npm by `make js-clients` into tests/browser/js) in Chromium,
pointed at a running Verbatim on the local engine: `Scribe.connect` with a
single-use token the app's server minted, streaming Chromium's fake
microphone (a recording of speech). The text comes back and the session
is a transcript in the user's library."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.models import ApiToken
from realtime.models import LiveSession, LiveStatus
from tests import support
from tests.browser.conftest import TEST_CONTEXT
from tests.browser.test_live_captions import FAKE_MIC_ARGS, SPEECH, microphone_file, words
from transcripts.models import Transcript

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CLIENT = Path(__file__).parent / "js" / "node_modules" / "@elevenlabs" / "client" / "dist" / "lib.iife.js"

# What an app's page does with the client (its README's microphone example).
CONNECT = """({ token, baseUri }) => {
  const { Scribe, RealtimeEvents } = window.ElevenLabsClient;
  const heard = (window.heard = { started: null, partial: "", committed: [], errors: [], closed: null });
  const connection = Scribe.connect({
    token,
    baseUri,
    modelId: "scribe_v2_realtime",
    languageCode: "en",
    includeTimestamps: true,
    microphone: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  connection.on(RealtimeEvents.SESSION_STARTED, (message) => { heard.started = message; });
  connection.on(RealtimeEvents.PARTIAL_TRANSCRIPT, (message) => { heard.partial = message.text; });
  connection.on(RealtimeEvents.COMMITTED_TRANSCRIPT, (message) => { heard.committed.push(message.text); });
  connection.on(RealtimeEvents.ERROR, (message) => { heard.errors.push(message); });
  connection.on(RealtimeEvents.CLOSE, (event) => { heard.closed = event.code; });
  window.connection = connection;
}"""


@pytest.fixture
def microphone(chromium, speech):
    """A Chromium whose microphone plays the speech once."""
    browser = chromium.browser_type.launch(
        executable_path="/usr/bin/chromium",
        args=[
            *FAKE_MIC_ARGS,
            f"--use-file-for-fake-audio-capture={microphone_file(speech)}%noloop",
            "--no-sandbox",
            "--disable-gpu",
        ],
    )
    yield browser
    browser.close()


def test_the_official_js_client_streams_a_microphone_to_verbatim(make_site, microphone, user):
    if not CLIENT.exists():
        pytest.fail("The JavaScript clients are not installed: run `make js-clients` (npm ci in tests/browser/js).")
    site = make_site(worker=False, DEFAULT_ENGINE="local")
    try:
        key = ApiToken.issue(user, name="browser app")[1]
        # The app's server mints the token with its API key; the page gets only the token.
        minted = httpx.post(f"{site.base_url}/v1/single-use-token/realtime_scribe", headers={"xi-api-key": key})
        token = minted.json()["token"]

        context = microphone.new_context(**TEST_CONTEXT)
        page = context.new_page()
        page.on("console", lambda message: print("console:", message.text))
        page.goto(f"{site.base_url}/")  # a loopback origin, where the microphone is allowed
        page.add_script_tag(path=str(CLIENT))
        page.evaluate(CONNECT, {"token": token, "baseUri": site.base_url.replace("http", "ws", 1)})
        page.wait_for_function("window.heard.started !== null", timeout=60_000)
        page.wait_for_function("window.heard.partial.split(/\\s+/).filter(Boolean).length >= 4", timeout=90_000)
        page.wait_for_timeout(6_000)  # the rest of the recording plays
        page.evaluate("window.connection.commit()")
        page.wait_for_function("window.heard.committed.length >= 1", timeout=60_000)
        heard = page.evaluate("window.heard")
        page.evaluate("window.connection.close()")
        context.close()

        assert not heard["errors"], heard
        assert heard["started"]["config"]["audio_format"] == "pcm_16000"  # the client's microphone default
        committed = " ".join(heard["committed"])
        assert len(words(committed) & words(SPEECH)) >= 12, committed

        def saved():
            return LiveSession.objects.filter(uuid=heard["started"]["session_id"], status=LiveStatus.ENDED).first()

        session = support.wait_until(saved, 60, message="the session saved")
        transcript = Transcript.objects.select_related("result").get(pk=session.transcript_id)
        assert transcript.owner == user
        assert len(words(transcript.result.text) & words(SPEECH)) >= 12, transcript.result.text
    finally:
        print(site.logs())
