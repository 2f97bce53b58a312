"""Live local captions through the browser, against a batch pass.

    python -m bench.live_browser [--variants default,cleanup,native,both]

The reading of bench.live_local (~35 s, espeak-ng) plays once as Chromium's
fake microphone (--use-file-for-fake-audio-capture); the live page, on a
real Daphne of an embedded site, streams it to the local engine and saves
the session. Reported for each variant of the page's audio path: the word
error rate of the saved live transcript, beside the word error rate of a
batch pass over the same audio in this run.

Variants: `default` (the page as shipped: microphone clean-up off, a 16 kHz
AudioContext), `cleanup` (echo cancellation, noise suppression and gain
control on), `native` (the browser's own rate, filtered and decimated in
the worklet), `both`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The AudioContext at the browser's own rate (as a browser that refuses 16 kHz).
NATIVE_RATE = """
const Original = window.AudioContext;
window.AudioContext = class extends Original { constructor() { super(); } };
"""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


def microphone_wav(pcm: bytes) -> Path:
    path = Path(tempfile.mkdtemp(prefix="verbatim-bench-mic-")) / "reading.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * 8000 + pcm + b"\0\0" * 32000)
    return path


def live_session(playwright, site, cookie: str, wav: Path, seconds: float, variant: str) -> str:
    browser = playwright.chromium.launch(
        executable_path="/usr/bin/chromium", args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}%noloop"]
    )
    try:
        context = browser.new_context(bypass_csp=True)  # Playwright polls with eval, which the CSP forbids
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": site.base_url}])
        if variant in ("native", "both"):
            context.add_init_script(NATIVE_RATE)
        page = context.new_page()
        page.goto(f"{site.base_url}/live/")
        page.select_option("#live-engine", "local")
        if variant in ("cleanup", "both"):
            page.check("#live-cleanup")
        page.click("#live-start")
        page.wait_for_function("document.getElementById('live-state').dataset.state === 'live'", timeout=60_000)
        page.wait_for_timeout(int((seconds + 3) * 1000))
        page.click("#live-stop")
        page.locator("#live-saved a").wait_for(timeout=120_000)
        return page.locator("#live-committed").text_content() or ""
    finally:
        browser.close()


def batch_text(pcm: bytes) -> str:
    import numpy as np

    from transcripts.engines import TranscriptionOptions
    from transcripts.engines.local import decoding_options, load_model

    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
    segments, _ = load_model().transcribe(audio, **decoding_options(TranscriptionOptions()))
    return " ".join(segment.text for segment in segments)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", default="default,cleanup,native,both")
    args = parser.parse_args()
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="verbatim-bench-browser-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    import django

    django.setup()
    from playwright.sync_api import sync_playwright

    from bench.embedded import EmbeddedSite
    from bench.live_local import SCRIPT
    from tests.realtime.live_support import silence, speech_pcm
    from tests.support import speech_file, word_error_rate

    pcm = b"".join(speech_pcm(speech_file(sentence)) + silence(0.6) for sentence in SCRIPT)
    reference = " ".join(SCRIPT)
    seconds = len(pcm) / 32000
    wav = microphone_wav(pcm)
    batch = batch_text(pcm)
    print(f"{seconds:.1f} s reading; batch pass WER {word_error_rate(reference, batch):.3f}", flush=True)
    site = EmbeddedSite()
    try:
        site.start_daphne()
        client = site.signed_in_client()
        cookie = client.cookies["sessionid"]
        with sync_playwright() as playwright:
            for variant in args.variants.split(","):
                started = time.monotonic()
                text = live_session(playwright, site, cookie, wav, seconds, variant)
                print(
                    f"  {variant:8s} live (through Chromium) WER {word_error_rate(reference, text):.3f} "
                    f"(load average {os.getloadavg()[0]:.1f}, {time.monotonic() - started:.0f} s)",
                    flush=True,
                )
                print(f"           {text.strip()}")
    finally:
        site.stop()


if __name__ == "__main__":
    main()
