"""The local live upstream: faster-whisper on a rolling window, with a
"local agreement" commit policy (text is committed once two consecutive
decodes agree on it, or once SETTLED_SECONDS of decoded audio follow it;
the rest is the partial).

Decoding runs in one worker thread per session, off the event loop, with a
model that encodes only the window instead of Whisper's padded 30 s
(short_encoder.py). A decode then costs ~0.2-0.6 s here, so the window is
re-decoded about every half second, and at most LIVE_LOCAL_MAX_SESSIONS
streams run per process.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections import deque

import numpy as np
from django.conf import settings

from realtime.upstreams import Committed, Emit, Lag, Partial, UpstreamError
from transcripts.media.pcm import SAMPLE_RATE

log = logging.getLogger(__name__)

STEP_SECONDS = 0.5  # new audio needed before the next decode
MAX_WINDOW_SECONDS = 12.0  # past this the window is cut after a committed word...
CONTEXT_SECONDS = 4.0  # ...keeping this much audio, for context
# Two decodes agreeing on a word Whisper is unsure of (a half-heard "walker"
# that becomes "walk in" once more audio arrives) is not enough to commit it.
AGREE_PROBABILITY = 0.6
SETTLED_SECONDS = 1.5  # a word followed by this much decoded audio commits on first sight...
UNSURE_PROBABILITY = 0.3  # ...unless Whisper is this unsure of it:
UNSURE_SETTLED_SECONDS = 2.25  # then it needs this much
FORCE_COMMIT_SECONDS = 20.0  # a window this long commits all but its last seconds
KEEP_AFTER_SILENCE = 1.0
# A word starting this close to the end of the window has no audio to be
# heard from: when Whisper writes one it is looping (it repeats earlier words
# with zero-length timings at the very end), so the decode stops there.
HEARD_SECONDS = 0.2
SILENCE_RMS = 0.003

_slots_lock = threading.Lock()
_slots_used = 0


def _take_slot() -> bool:
    global _slots_used
    with _slots_lock:
        if _slots_used >= settings.LIVE_LOCAL_MAX_SESSIONS:
            return False
        _slots_used += 1
        return True


def _give_slot() -> None:
    global _slots_used
    with _slots_lock:
        _slots_used = max(_slots_used - 1, 0)


def _norm(text: str) -> str:
    return re.sub(r"[^\w']", "", text.lower())


class Word:
    __slots__ = ("text", "start", "end", "probability")

    def __init__(self, text: str, start: float, end: float, probability: float):
        self.text, self.start, self.end, self.probability = text, start, end, probability

    def token(self) -> dict:
        return {
            "text": self.text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "type": "word",
            "speaker_id": "speaker_0",
            "logprob": round(float(np.log(max(self.probability, 1e-10))), 4),
        }


class LocalAgreement:
    """The streaming state, independent of threads (and so easy to test)."""

    def __init__(self, model, language: str, position: float = 0.0, *, context: bytes = b"", previous_text: str = ""):
        self.model = model
        self.language = language or None
        self.audio = np.zeros(0, dtype=np.float32)
        self.buffer_start = position  # session seconds of audio[0]
        self.committed: deque[Word] = deque(maxlen=64)  # the latest committed words
        self.previous: list[Word] = []
        if context:
            self.resume_after(position, context, previous_text)

    def resume_after(self, position: float, context: bytes, previous_text: str) -> None:
        """A resumed session: the window starts with the last seconds of its
        recording, so the first words after the break are heard in context
        (a window of only the new audio begins mid-sentence, where Whisper
        guesses). What was committed before is known, not committed again:
        its last words stand as the committed tail, ending at `position`."""
        self.add(context)
        self.buffer_start = position - len(context) / 2 / SAMPLE_RATE
        for text in previous_text.split()[-5:]:
            self.committed.append(Word(text, position, position, 1.0))

    @property
    def committed_end(self) -> float:
        return self.committed[-1].end if self.committed else 0.0

    def add(self, pcm: bytes) -> None:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        self.audio = np.concatenate([self.audio, samples])

    def decode(self) -> list[Word]:
        # A cheap energy gate instead of the Silero VAD pass: a silent window is
        # not decoded at all (Whisper invents words on silence).
        if not len(self.audio) or float(np.sqrt(np.mean(np.square(self.audio)))) < SILENCE_RMS:
            return []
        # No initial prompt: on these short windows Whisper tended to echo the
        # prompt after the real words (word error rate 0.31 with it, 0.13
        # without, on the benchmark's script).
        segments, _ = self.model.transcribe(
            self.audio,
            language=self.language,
            beam_size=1,
            temperature=0.0,
            condition_on_previous_text=False,
            word_timestamps=True,
            no_repeat_ngram_size=3,
        )
        window_end = self.buffer_start + len(self.audio) / SAMPLE_RATE
        words: list[Word] = []
        for segment in segments:
            for w in segment.words or []:
                if self.buffer_start + w.start >= window_end - HEARD_SECONDS:
                    return self._after_committed(words)  # the rest is a hallucinated loop
                if w.word.strip():
                    words.append(
                        Word(w.word.strip(), self.buffer_start + w.start, self.buffer_start + w.end, w.probability)
                    )
        return self._after_committed(words)

    def _after_committed(self, words: list[Word]) -> list[Word]:
        """The words after what is committed. Word times jitter between decodes,
        so a time cut alone would drop or repeat a word at the boundary: keep
        words that start near or after the committed end, then remove the
        longest head that repeats the committed tail (as whisper_streaming does)."""
        fresh = [w for w in words if w.start >= self.committed_end - 0.5 and w.end > self.committed_end - 0.2]
        tail = [_norm(w.text) for w in list(self.committed)[-5:]]
        for size in range(min(5, len(fresh), len(tail)), 0, -1):
            if [_norm(w.text) for w in fresh[:size]] == tail[-size:]:
                return fresh[size:]
        return fresh

    def clear(self) -> None:
        """Start a new window after the audio decoded so far (all of it
        committed by a final step): a client's commit ends its segment."""
        self.buffer_start += len(self.audio) / SAMPLE_RATE
        self.audio = np.zeros(0, dtype=np.float32)
        self.previous = []

    def step(self, final: bool = False) -> tuple[list[Word], str]:
        """Decode the window: (words to commit now, partial text)."""
        words = self.decode()
        agreed = words if final else words[: self._commit_count(words)]
        rest = words[len(agreed) :]
        self.previous = rest
        self.committed.extend(agreed)
        self._trim(bool(words))
        return agreed, " ".join(w.text for w in rest)

    def _commit_count(self, words: list[Word]) -> int:
        window = len(self.audio) / SAMPLE_RATE
        window_end = self.buffer_start + window
        count = max(self._agreed_count(words), self._settled_count(words, window_end))
        if window > FORCE_COMMIT_SECONDS:
            count = max(count, sum(1 for w in words if w.end <= window_end - 3.0))
        return count

    def _agreed_count(self, words: list[Word]) -> int:
        """Leading words the previous decode said too (LocalAgreement-2), as
        long as Whisper was fairly sure of them both times."""
        count = 0
        for old, new in zip(self.previous, words, strict=False):
            if _norm(old.text) != _norm(new.text) or min(old.probability, new.probability) < AGREE_PROBABILITY:
                break
            count += 1
        return count

    def _settled_count(self, words: list[Word], window_end: float) -> int:
        """Leading words with SETTLED_SECONDS of audio after them: stable
        enough without a second decode, which bounds the lag when decodes are
        slow. A word Whisper is unsure of waits longer: "Our quarterly"
        heard from a window's first second came out as "I'll work to" at 0.1."""
        count = 0
        for word in words:
            age = window_end - word.end
            if age < SETTLED_SECONDS or (word.probability < UNSURE_PROBABILITY and age < UNSURE_SETTLED_SECONDS):
                break
            count += 1
        return count

    def _trim(self, heard: bool) -> None:
        window = len(self.audio) / SAMPLE_RATE
        if not heard and window > 5.0:
            cut = window - KEEP_AFTER_SILENCE
        elif window > MAX_WINDOW_SECONDS and self.committed_end > self.buffer_start:
            cut = self._context_cut(window) - self.buffer_start
        else:
            return
        samples = int(cut * SAMPLE_RATE)
        self.audio = self.audio[samples:]
        self.buffer_start += samples / SAMPLE_RATE

    def _context_cut(self, window: float) -> float:
        """Where a long window may start again: after a committed word, but
        leaving CONTEXT_SECONDS of audio. A window cut right at the committed
        end holds only the last word or two, and Whisper invents text for such
        scraps ("a quiet after" came back as "Why I have to do...")."""
        latest_start = self.buffer_start + window - CONTEXT_SECONDS
        ends = [w.end for w in self.committed if self.buffer_start < w.end <= latest_start]
        return ends[-1] if ends else self.committed_end


class Flushed:
    """Posted after the text of a commit: everything before it is emitted."""

    def __init__(self, waiting: list[asyncio.Future]):
        self.waiting = waiting

    def release(self) -> None:
        for future in self.waiting:
            if not future.done():
                future.set_result(None)


class LocalUpstream:
    def __init__(
        self, *, language: str, emit: Emit, position: float = 0.0, context: bytes = b"", previous_text: str = ""
    ):
        self.language = language
        self.position = position
        self.resume_audio, self.previous_text = context, previous_text
        self.emit = emit
        self.lock = threading.Condition()
        self.pending: list[bytes] = []
        self.commits: list[asyncio.Future] = []  # commits asked for, not yet decoded
        self.stopping = False
        self.thread: threading.Thread | None = None
        self.done = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.events: asyncio.Queue = asyncio.Queue()
        self.pump: asyncio.Task | None = None
        self.has_slot = False
        self.decode_seconds: list[float] = []
        self.received = 0  # bytes of audio sent to it
        self.covered = position  # session seconds with text: the last committed word, or all once finished

    @property
    def transcribed_until(self) -> float:
        return self.covered

    async def start(self) -> None:
        if not _take_slot():
            raise UpstreamError(
                "server_busy",
                "The server is busy with other live sessions on the local engine. "
                "Try again in a few minutes, or choose Scribe.",
            )
        self.has_slot = True
        from realtime.upstreams.short_encoder import ShortEncoderWhisperModel
        from transcripts.engines.local import load_model

        try:
            model = await asyncio.to_thread(load_model, settings.LIVE_LOCAL_THREADS, ShortEncoderWhisperModel)
        except Exception as error:
            self._release()
            raise UpstreamError("error", f"The local engine could not start ({type(error).__name__}).") from error
        self.loop = asyncio.get_running_loop()
        self.pump = asyncio.create_task(self._pump())
        state = LocalAgreement(
            model, self.language, self.position, context=self.resume_audio, previous_text=self.previous_text
        )
        self.thread = threading.Thread(target=self._run, args=(state,), name="live-local", daemon=True)
        self.thread.start()

    async def send(self, pcm: bytes) -> None:
        with self.lock:
            self.pending.append(pcm)
            self.received += len(pcm)
            self.lock.notify()

    def context(self, text: str) -> None:
        """Not used: on these short windows Whisper echoed a prompt after the
        real words (see LocalAgreement.decode)."""

    async def commit(self) -> None:
        """Decode the window to the end, commit all of it and start a new
        one; returns once its text has been emitted."""
        if self.thread is None or self.loop is None:
            return
        done = self.loop.create_future()
        with self.lock:
            if self.stopping:  # the worker is done with commits
                return
            self.commits.append(done)
            self.lock.notify()
        await done

    async def finish(self, timeout: float = 30.0) -> None:
        """Decode what is left (all of it is then committed) and stop; a
        decode that does not end in `timeout` leaves the rest without text."""
        await self._stop(timeout)

    async def close(self) -> None:
        await self._stop(30.0)

    async def _stop(self, timeout: float) -> None:
        with self.lock:
            self.stopping = True
            self.lock.notify()
        if self.thread is not None:
            await asyncio.to_thread(self.thread.join, timeout)
            if not self.thread.is_alive() and self.finished_cleanly:
                self.covered = self.position + self.received / 2 / SAMPLE_RATE
            self.thread = None
            await self.events.put(None)
            if self.pump is not None:
                await self.pump
        Flushed(self.commits).release()  # asked for as the thread stopped: nothing more will come
        self._release()

    def _release(self) -> None:
        if self.has_slot:
            self.has_slot = False
            _give_slot()

    # --- worker thread -----------------------------------------------------------

    finished_cleanly = False  # the worker decoded everything it was sent and stopped

    def _run(self, state: LocalAgreement) -> None:
        fresh = 0
        commits: list[asyncio.Future] = []
        try:
            while True:
                with self.lock:
                    while not self.pending and not self.commits and not self.stopping:
                        self.lock.wait(0.5)
                    chunks, self.pending = self.pending, []
                    commits, self.commits = self.commits, []
                    stopping = self.stopping
                for pcm in chunks:
                    state.add(pcm)
                    fresh += len(pcm) // 2
                if stopping:
                    if len(state.audio):
                        self._decode(state, final=True)
                    self.finished_cleanly = True
                    self._post(Flushed(commits))
                    return
                if commits:
                    fresh = 0
                    if len(state.audio):
                        self._decode(state, final=True)
                        state.clear()
                    self._post(Flushed(commits))
                elif fresh >= STEP_SECONDS * SAMPLE_RATE:
                    fresh = 0
                    self._decode(state, final=False)
        except Exception:
            log.exception("The local live engine failed")
            with self.lock:  # no commit waits forever on a dead thread
                self.stopping = True
                commits, self.commits = commits + self.commits, []
            self._post(Flushed(commits))

    def _decode(self, state: LocalAgreement, final: bool) -> None:
        began = time.monotonic()
        agreed, partial = state.step(final=final)
        self.decode_seconds.append(time.monotonic() - began)
        if agreed:
            self.covered = max(self.covered, agreed[-1].end)
            self._post(
                Committed(
                    text=" ".join(w.text for w in agreed),
                    words=[w.token() for w in agreed],
                    start=agreed[0].start,
                    end=agreed[-1].end,
                    language=state.language,
                )
            )
        self._post(Partial(partial))
        with self.lock:  # audio it has not started on yet: how far behind the captions are
            waiting = sum(len(pcm) for pcm in self.pending) / 2 / SAMPLE_RATE
        self._post(Lag(waiting + self.decode_seconds[-1]))

    def _post(self, event) -> None:
        assert self.loop is not None  # started
        self.loop.call_soon_threadsafe(self.events.put_nowait, event)

    async def _pump(self) -> None:
        while (event := await self.events.get()) is not None:
            if isinstance(event, Flushed):
                event.release()
            else:
                await self.emit(event)
