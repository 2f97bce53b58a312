"""The local live engine's commit policy, stepped by hand on real speech with
the real model, so that what it commits and when is measured in audio time
(not wall time, which depends on how busy the machine is)."""

from __future__ import annotations

import numpy as np
import pytest

from realtime.upstreams.local import (
    SAMPLE_RATE,
    SETTLED_SECONDS,
    STEP_SECONDS,
    UNSURE_SETTLED_SECONDS,
    LocalAgreement,
)
from realtime.upstreams.short_encoder import KEEP_PADDING_FRAMES, MAX_FRAMES, ShortEncoderWhisperModel, encoded_frames
from tests.realtime.live_support import silence, speech_pcm
from tests.support import word_error_rate
from transcripts.engines.local import load_model

SENTENCES = [
    "Please remember to water the garden every morning before the sun gets too hot.",
    "The children walked to the library after school on a quiet afternoon.",
    "Our quarterly revenue grew by twelve percent, mostly thanks to the new subscription plans in Europe.",
]


def test_the_encoder_gets_the_audio_and_two_seconds_of_padding_not_thirty():
    features = np.zeros((80, 3000), dtype=np.float32)
    features[:, :450] = np.random.default_rng(1).normal(size=(80, 450))
    assert encoded_frames(features) == 450 + KEEP_PADDING_FRAMES
    features[:, :2990] = 0.5
    assert encoded_frames(features) == MAX_FRAMES
    assert encoded_frames(np.zeros((80, 3000), dtype=np.float32)) == KEEP_PADDING_FRAMES


@pytest.fixture(scope="module")
def streamed(speech):
    """Feed three sentences in half-second steps; record each commit with the
    audio position it happened at."""
    pcm = b"".join(speech_pcm(speech(sentence)) + silence(0.6) for sentence in SENTENCES)
    state = LocalAgreement(load_model(2, ShortEncoderWhisperModel), "en")
    step = int(STEP_SECONDS * SAMPLE_RATE) * 2
    commits = []
    for position in range(0, len(pcm), step):
        state.add(pcm[position : position + step])
        agreed, _partial = state.step()
        heard_until = min(position + step, len(pcm)) / 2 / SAMPLE_RATE
        commits.extend((word, heard_until) for word in agreed)
    agreed, _partial = state.step(final=True)
    commits.extend((word, len(pcm) / 2 / SAMPLE_RATE) for word in agreed)
    return commits, len(pcm) / 2 / SAMPLE_RATE


def test_committed_text_matches_the_speech(streamed):
    commits, _duration = streamed
    text = " ".join(word.text for word, _ in commits)
    # A batch pass of tiny.en over the same recording scores about 0.09.
    assert word_error_rate(" ".join(SENTENCES), text) < 0.25, text


def test_words_commit_once_in_time_order_and_within_the_audio(streamed):
    commits, duration = streamed
    starts = [word.start for word, _ in commits]
    assert starts == sorted(starts)
    assert all(0 <= word.start <= word.end <= duration for word, _ in commits)


def test_every_word_commits_soon_after_it_is_heard(streamed):
    """A word commits once two decodes agree on it or SETTLED_SECONDS of audio
    follow it (UNSURE_SETTLED_SECONDS when Whisper is unsure of it), so in
    audio time its lag is bounded whatever the machine."""
    commits, _duration = streamed
    lags = sorted(heard_until - word.end for word, heard_until in commits)
    assert lags[len(lags) // 2] <= SETTLED_SECONDS, lags
    assert lags[-1] <= UNSURE_SETTLED_SECONDS + 2 * STEP_SECONDS, lags


def stream_into(state: LocalAgreement, pcm: bytes) -> list:
    step = int(STEP_SECONDS * SAMPLE_RATE) * 2
    agreed_words = []
    for position in range(0, len(pcm), step):
        state.add(pcm[position : position + step])
        agreed_words.extend(state.step()[0])
    agreed_words.extend(state.step(final=True)[0])
    return agreed_words


def test_a_resumed_window_hears_the_preceding_audio_and_repeats_nothing(speech):
    """The connection broke mid-sentence: the new window starts with the
    recording's last four seconds, and what was committed is not said again."""
    pcm = b"".join(speech_pcm(speech(sentence)) + silence(0.6) for sentence in SENTENCES)
    model = load_model(2, ShortEncoderWhisperModel)
    cut = int(len(pcm) * 0.45) // 2 * 2
    before = stream_into(LocalAgreement(model, "en"), pcm[:cut])
    position = cut / 2 / SAMPLE_RATE
    said = " ".join(word.text for word in before)
    context = pcm[max(0, cut - 4 * SAMPLE_RATE * 2) : cut]
    resumed = LocalAgreement(model, "en", position, context=context, previous_text=said)
    after = stream_into(resumed, pcm[cut:])
    assert all(word.start >= position - 0.5 for word in after)
    text = said + " " + " ".join(word.text for word in after)
    assert word_error_rate(" ".join(SENTENCES), text) < 0.3, text
    # No phrase said twice across the break.
    tail, head = [w.text.lower() for w in before[-3:]], [w.text.lower() for w in after[:3]]
    assert tail != head, (tail, head)
