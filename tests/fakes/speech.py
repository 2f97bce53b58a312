"""Synthetic speech the fake Scribe can really transcribe.

Each word of a small vocabulary is a 0.35 s tone of its own pitch. `say()`
turns words into 16 kHz PCM16 (short gaps between words, a longer pause at
each sentence end), and `hear()` turns any stretch of such audio back into
timed words. So the realtime fake and the batch fake both transcribe what
they were actually sent, and a live transcript can be compared word by word
with a batch transcription of the same recording: words cut off by a
dropped connection, or never committed, show up as missing.
"""

from __future__ import annotations

import math

import numpy as np

RATE = 16000
WORD_SECONDS = 0.35
WORD_GAP_SECONDS = 0.08  # between words: no quiet moment for a VAD
SENTENCE_PAUSE_SECONDS = 1.3  # longer than the fake VAD's silence threshold
MIN_HEARD_SECONDS = 0.18  # a cut word keeps its name only on the longer side of the cut
VOCABULARY = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike "
    "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu"
).split()
BASE_HZ, STEP_HZ = 300.0, 50.0
FRAME = RATE // 100  # 10 ms
VOICED_RMS = 0.02


def pitch(word: str) -> float:
    return BASE_HZ + STEP_HZ * VOCABULARY.index(word)


def tone(word: str) -> np.ndarray:
    t = np.arange(int(RATE * WORD_SECONDS)) / RATE
    ramp = np.minimum(1.0, np.minimum(t, WORD_SECONDS - t) / 0.01)  # no clicks at the edges
    return 0.3 * ramp * np.sin(2 * math.pi * pitch(word) * t)


def say(sentences: list[list[str]]) -> bytes:
    """Words spoken sentence after sentence, as PCM16."""
    gap, pause = np.zeros(int(RATE * WORD_GAP_SECONDS)), np.zeros(int(RATE * SENTENCE_PAUSE_SECONDS))
    parts: list[np.ndarray] = []
    for sentence in sentences:
        for word in sentence:
            parts += [tone(word), gap]
        parts.append(pause)
    return (np.concatenate(parts) * 32767).astype("<i2").tobytes() if parts else b""


def script(seconds: float, *, sentence_words: int = 8, seed: int = 0) -> list[list[str]]:
    """Sentences of `sentence_words` words filling about `seconds` of audio;
    sentence_words=0: one sentence of continuous speech."""
    rng = np.random.default_rng(seed)
    per_word = WORD_SECONDS + WORD_GAP_SECONDS
    sentences, total = [], 0.0
    while total < seconds:
        count = sentence_words or max(1, int(seconds / per_word))
        sentences.append([VOCABULARY[i] for i in rng.integers(0, len(VOCABULARY), count)])
        total += count * per_word + SENTENCE_PAUSE_SECONDS
    return sentences


def hear(pcm: bytes, offset: float = 0.0) -> list[tuple[str, float, float]]:
    """The words in `pcm`, as (word, start, end) seconds from `offset`."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    count = len(samples) // FRAME
    if not count:
        return []
    frames = samples[: count * FRAME].reshape(count, FRAME)
    voiced = np.sqrt(np.mean(np.square(frames), axis=1)) >= VOICED_RMS
    words: list[tuple[str, float, float]] = []
    start = None
    for index in range(count + 1):
        on = index < count and bool(voiced[index])
        if on and start is None:
            start = index
        elif not on and start is not None:
            if (index - start) * FRAME >= MIN_HEARD_SECONDS * RATE:
                run = samples[start * FRAME : index * FRAME]
                words.append((name_of(run), offset + start * FRAME / RATE, offset + index * FRAME / RATE))
            start = None
    return words


def name_of(run: np.ndarray) -> str:
    spectrum = np.abs(np.fft.rfft(run * np.hanning(len(run))))
    frequency = np.argmax(spectrum) * RATE / len(run)
    index = int(round((frequency - BASE_HZ) / STEP_HZ))
    return VOCABULARY[min(max(index, 0), len(VOCABULARY) - 1)]


def text(pcm: bytes) -> str:
    return " ".join(word for word, _, _ in hear(pcm))


def wer(reference: list[str], hypothesis: list[str]) -> float:
    """Word error rate in percentage points (edit distance over the reference)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp in enumerate(hypothesis, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp))
        previous = current
    return 100.0 * previous[-1] / max(len(reference), 1)


class HeardWord:
    """A word as faster-whisper gives it."""

    def __init__(self, word: str, start: float, end: float):
        self.word, self.start, self.end, self.probability = f" {word}", start, end, 0.99


class HeardSegment:
    def __init__(self, words: list[HeardWord], end: float):
        self.words, self.end = words, end
        self.start = words[0].start if words else 0.0
        self.text = "".join(w.word for w in words)


class HeardInfo:
    language = "en"
    language_probability = 1.0


class HearingModel:
    """Stands in for the faster-whisper model (`model.transcribe(audio)`) on
    this synthetic speech, which Whisper cannot read: the live local engine
    and the batch local engine then both hear the real words. `delay`: each
    decode takes this long per second of audio (a slow machine)."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.decodes = 0

    def transcribe(self, audio, **options):
        import time

        self.decodes += 1
        if self.delay:
            time.sleep(self.delay * len(audio) / RATE)
        pcm = (np.clip(np.asarray(audio, dtype=np.float32), -1, 1) * 32767).astype("<i2").tobytes()
        words = [HeardWord(word, start, end) for word, start, end in hear(pcm)]
        return [HeardSegment(words, len(audio) / RATE)], HeardInfo()
