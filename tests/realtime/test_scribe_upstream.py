"""The Scribe realtime upstream's handling of Scribe's messages, against
scripted sockets (no network): the order of plain and timestamped commits,
word times in session seconds, errors, reconnecting with the audio not yet
committed, and the context (`previous_text`) a new socket is given."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from websockets.exceptions import ConnectionClosedError

from realtime.upstreams import FATAL, MESSAGES, Committed, Failure, Lag, Partial, Status, UpstreamError
from realtime.upstreams import scribe as scribe_module
from realtime.upstreams.scribe import PREVIOUS_TEXT_CHARS, ScribeUpstream, text_tail
from tests.realtime.live_support import tone

pytestmark = pytest.mark.asyncio

DROP = object()


class ScriptedSocket:
    """A Scribe realtime socket the test speaks for."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.incoming: asyncio.Queue = asyncio.Queue()
        self.closed_with: int | None = None
        self.dropped = False

    async def send(self, message: str) -> None:
        if self.dropped:
            raise ConnectionClosedError(None, None)
        self.sent.append(json.loads(message))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = code
        self.incoming.put_nowait(None)

    def __aiter__(self):
        return self.messages()

    async def messages(self):
        while (item := await self.incoming.get()) is not None:
            if item is DROP:
                self.dropped = True
                raise ConnectionClosedError(None, None)
            yield json.dumps(item)

    def say(self, message_type: str, **fields) -> None:
        self.incoming.put_nowait({"message_type": message_type, **fields})

    def drop(self) -> None:
        self.incoming.put_nowait(DROP)

    @property
    def audio(self) -> bytes:
        return b"".join(base64.b64decode(m["audio_base_64"]) for m in self.sent if not m["commit"])


class Dialer:
    """The upstream's dial: a new scripted socket each time, or a refusal."""

    def __init__(self) -> None:
        self.sockets: list[ScriptedSocket] = []
        self.refusals: list[UpstreamError] = []
        self.calls = 0

    async def __call__(self, language: str) -> ScriptedSocket:
        self.calls += 1
        if self.refusals:
            raise self.refusals.pop(0)
        self.sockets.append(ScriptedSocket())
        return self.sockets[-1]


class Events(list):
    """What the upstream emitted; its lag reports apart, in `lags`."""

    def __init__(self) -> None:
        super().__init__()
        self.lags: list[float] = []

    async def __call__(self, event) -> None:
        if isinstance(event, Lag):
            self.lags.append(event.seconds)
        else:
            self.append(event)

    async def until(self, count: int) -> None:
        for _ in range(400):
            if len(self) >= count:
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"{count} events expected, got {list(self)}")

    def of(self, kind: type) -> list:
        return [event for event in self if isinstance(event, kind)]


async def started(position: float = 0.0, previous_text: str = "") -> tuple[ScribeUpstream, Dialer, Events]:
    dialer, events = Dialer(), Events()
    upstream = ScribeUpstream(language="en", emit=events, position=position, previous_text=previous_text, dial=dialer)
    await upstream.start()
    return upstream, dialer, events


def words(*spans: tuple[str, float, float]) -> list[dict]:
    out: list[dict] = []
    for text, start, end in spans:
        if out:
            out.append({"text": " ", "start": start, "end": start, "type": "spacing"})
        out.append({"text": text, "start": start, "end": end, "type": "word", "characters": list(text)})
    return out


SECOND = b"\1\0" * 16000


async def test_a_plain_commit_and_its_timestamped_twin_make_one_segment_with_word_times():
    upstream, dialer, events = await started()
    await upstream.send(SECOND)
    socket = dialer.sockets[0]
    socket.say("partial_transcript", text="alpha")
    socket.say("committed_transcript", text="alpha bravo")
    socket.say(
        "committed_transcript_with_timestamps",
        text="alpha bravo",
        words=words(("alpha", 0.1, 0.4), ("bravo", 0.5, 0.9)),
        language_code="en",
    )
    await events.until(2)
    await upstream.close()
    assert events[0] == Partial("alpha")
    (committed,) = events.of(Committed)
    assert (committed.text, committed.start, committed.end, committed.language) == ("alpha bravo", 0.1, 0.9, "en")
    assert [w["text"] for w in committed.words] == ["alpha", " ", "bravo"]
    assert not any("characters" in w for w in committed.words)
    assert socket.closed_with == 1000


async def test_timestamps_before_their_plain_twin_still_make_one_segment_and_a_real_repeat_is_kept():
    upstream, dialer, events = await started()
    await upstream.send(SECOND)
    socket = dialer.sockets[0]
    socket.say("committed_transcript_with_timestamps", text="yes", words=words(("yes", 0.1, 0.3)))
    socket.say("committed_transcript", text="yes")  # the twin: skipped
    socket.say("committed_transcript", text="yes")  # said again: a segment of its own
    socket.say("partial_transcript", text="")
    await events.until(3)
    await upstream.close()
    assert [(type(e).__name__, getattr(e, "text", "")) for e in events] == [
        ("Committed", "yes"),
        ("Committed", "yes"),
        ("Partial", ""),
    ]
    assert events[0].words and events[1].words is None


async def test_a_plain_commit_without_timestamps_is_sent_at_the_next_message_spanning_its_audio():
    upstream, dialer, events = await started(position=2.0)
    await upstream.send(SECOND)
    socket = dialer.sockets[0]
    socket.say("committed_transcript", text="no timings")
    socket.say("committed_transcript_with_timestamps", text="other words", words=words(("other", 0.2, 0.5)))
    await events.until(2)
    plain, timed = events
    assert (plain.text, plain.words, plain.start, plain.end) == ("no timings", None, 2.0, 3.0)
    assert timed.text == "other words" and timed.start == pytest.approx(2.2)  # session seconds
    await upstream.send(SECOND)
    socket.say("committed_transcript", text="at the end")
    await upstream.close()  # a pending plain commit is not lost on close
    # It spans the audio after the last committed word.
    assert events[-1] == Committed(text="at the end", start=2.5, end=4.0)


@pytest.mark.parametrize("code", sorted(set(MESSAGES) - {"upstream_unavailable", "server_busy", "commit_throttled"}))
async def test_each_scribe_error_becomes_a_failure_with_our_message(code):
    upstream, dialer, events = await started()
    socket = dialer.sockets[0]
    socket.say(code, error=f"upstream says {code}")
    await events.until(1)
    (failure,) = events
    assert failure == Failure(code, MESSAGES[code], fatal=code in FATAL, extra={"detail": f"upstream says {code}"})
    assert "upstream says" not in failure.message
    if failure.fatal:  # Scribe closes the socket after a fatal error: no reconnect
        socket.incoming.put_nowait(None)
        await asyncio.wait_for(upstream.reader, 2)
        assert dialer.calls == 1
    await upstream.close()


async def test_a_dropped_socket_is_replaced_and_the_uncommitted_audio_replayed_with_context(monkeypatch):
    monkeypatch.setattr(scribe_module, "RECONNECT_BACKOFF_SECONDS", 0)
    upstream, dialer, events = await started(previous_text="said before the page dropped")
    first = dialer.sockets[0]
    await upstream.send(SECOND)
    first.say("committed_transcript_with_timestamps", text="alpha bravo", words=words(("alpha", 0.1, 0.9)))
    await events.until(1)
    uncommitted = b"\2\0" * 8000 + b"\3\0" * 8000
    await upstream.send(uncommitted[:16000])
    first.drop()
    await events.until(2)
    await upstream.send(uncommitted[16000:])  # waits for the new socket, then goes on it
    await events.until(3)
    assert events[1:3] == [
        Status("reconnecting", "The speech service connection dropped; reconnecting…"),
        Status("connected", "Reconnected."),
    ]
    second = dialer.sockets[1]
    assert first.sent[0]["previous_text"] == "said before the page dropped"
    assert "previous_text" not in first.sent[1]
    assert second.sent[0]["previous_text"] == text_tail("said before the page dropped alpha bravo")
    # Everything after the last committed word is replayed, in chunks Scribe
    # takes (8000 bytes), then the new chunk follows.
    assert [len(base64.b64decode(m["audio_base_64"])) for m in second.sent] == [8000, 8000, 3200, 16000]
    assert second.audio == SECOND[int(0.9 * 32000) :] + uncommitted
    # Word times on the new socket count from where its audio starts in the session.
    second.say("committed_transcript_with_timestamps", text="charlie", words=words(("charlie", 0.1, 0.4)))
    await events.until(4)
    assert events[3].start == pytest.approx(1.0) and events[3].end == pytest.approx(1.3)
    await upstream.close()


async def test_after_40_s_of_uncommitted_speech_a_drop_replays_all_of_it_from_the_recording(monkeypatch):
    """Continuous speech is not committed by Scribe's VAD: after a drop every
    second of it is sent again, read back from the session's recording (not
    a fixed window in memory), and the word times go on from where it began."""
    monkeypatch.setattr(scribe_module, "RECONNECT_BACKOFF_SECONDS", 0)
    recording = bytearray()
    reads = []

    async def replay(start: int, end: int) -> bytes:
        reads.append((start, end))
        return bytes(recording[start:end])

    dialer, events = Dialer(), Events()
    upstream = ScribeUpstream(language="en", emit=events, replay=replay, dial=dialer)
    await upstream.start()
    first = dialer.sockets[0]
    await upstream.send(SECOND)
    recording += SECOND
    first.say("committed_transcript_with_timestamps", text="alpha", words=words(("alpha", 0.1, 0.9)))
    await events.until(1)
    speech = b"".join(bytes([i % 251, 1]) * 16000 for i in range(40))  # 40 s, every second different
    for second in range(40):
        recording += speech[second * 32000 : (second + 1) * 32000]
        await upstream.send(speech[second * 32000 : (second + 1) * 32000])
    first.drop()
    for _ in range(400):
        if len(dialer.sockets) > 1 and upstream.connected.is_set():
            break
        await asyncio.sleep(0.005)
    second = dialer.sockets[1]
    assert second.audio == SECOND[int(0.9 * 32000) :] + speech  # from the last committed word on
    assert reads == [(int(0.9 * 32000), 41 * 32000)]
    assert upstream.memory == bytearray()  # nothing kept in memory: the recording is the source
    second.say("committed_transcript_with_timestamps", text="bravo", words=words(("bravo", 0.5, 1.0)))
    await events.until(4)
    (bravo,) = [e for e in events.of(Committed) if e.text == "bravo"]
    assert bravo.start == pytest.approx(1.4)
    await upstream.close()


async def test_reconnecting_gives_up_after_its_attempts_and_at_once_on_bad_credentials(monkeypatch):
    monkeypatch.setattr(scribe_module, "RECONNECT_BACKOFF_SECONDS", 0)
    upstream, dialer, events = await started()
    unavailable = UpstreamError("upstream_unavailable", MESSAGES["upstream_unavailable"])
    dialer.refusals = [unavailable] * scribe_module.RECONNECT_ATTEMPTS
    dialer.sockets[0].drop()
    await asyncio.wait_for(upstream.reader, 5)
    assert dialer.calls == 1 + scribe_module.RECONNECT_ATTEMPTS
    assert events[-1] == Failure("upstream_unavailable", MESSAGES["upstream_unavailable"])

    upstream, dialer, events = await started()
    dialer.refusals = [UpstreamError("auth_error", MESSAGES["auth_error"])] * 3
    dialer.sockets[0].drop()
    await asyncio.wait_for(upstream.reader, 5)
    assert dialer.calls == 2 and events[-1].code == "upstream_unavailable" and events[-1].fatal


async def test_finish_commits_what_is_pending_and_waits_for_its_text():
    upstream, dialer, events = await started()
    await upstream.send(SECOND)
    socket = dialer.sockets[0]

    async def scribe_answers() -> None:
        while not any(m["commit"] for m in socket.sent):
            await asyncio.sleep(0.01)
        socket.say("committed_transcript_with_timestamps", text="last words", words=words(("last", 0.1, 0.5)))

    answer = asyncio.create_task(scribe_answers())
    await asyncio.wait_for(upstream.finish(), 3)
    await answer
    assert socket.sent[-1] == json.loads(scribe_module.COMMIT_MESSAGE)
    assert events == [Committed(text="last words", words=events[0].words, start=0.1, end=0.5, language=None)]
    assert socket.closed_with == 1000


async def test_a_socket_that_cannot_open_refuses_the_start():
    dialer = Dialer()
    dialer.refusals = [UpstreamError("auth_error", MESSAGES["auth_error"])]
    upstream = ScribeUpstream(language="", emit=Events(), dial=dialer)
    with pytest.raises(UpstreamError) as refused:
        await upstream.start()
    assert refused.value.code == "auth_error"


async def test_previous_text_is_the_last_whole_words_within_scribes_limit():
    assert text_tail("  alpha\n bravo  charlie ") == "alpha bravo charlie"
    long = "Please remember to water the garden every morning before the sun gets too hot."
    tail = text_tail(long)
    assert tail == "garden every morning before the sun gets too hot."
    assert len(tail) <= PREVIOUS_TEXT_CHARS and long.endswith(tail)
    assert text_tail("abc defgh", limit=5) == "defgh"  # the cut falls on a word boundary: the word is kept
    assert text_tail("abc defgh", limit=4) == ""  # no whole word fits


def commits(socket: ScriptedSocket) -> int:
    return sum(1 for m in socket.sent if m["commit"])


async def test_after_20_s_without_a_commit_the_upstream_commits_at_the_next_quiet_moment_and_backs_off_when_throttled():
    now = [0.0]
    dialer, events = Dialer(), Events()
    upstream = ScribeUpstream(language="en", emit=events, dial=dialer, clock=lambda: now[0])
    await upstream.start()
    socket = dialer.sockets[0]
    loud, quiet = tone(1.0), b"\0\0" * 16000
    for _ in range(25):  # 25 s of speech, no pause: no word is cut by a commit
        await upstream.send(loud)
    assert commits(socket) == 0
    await upstream.send(quiet[:6400])  # the first quiet moment after 20 s
    assert commits(socket) == 1 and socket.sent[-1] == json.loads(scribe_module.COMMIT_MESSAGE)
    await upstream.send(quiet[:6400])
    assert commits(socket) == 1  # one at a time
    socket.say("commit_throttled", error="Commits are too frequent")
    for _ in range(100):
        if not upstream.commits:
            break
        await asyncio.sleep(0.005)
    assert not events.of(Failure)  # ours to handle, not the page's
    await upstream.send(quiet[:6400])
    assert commits(socket) == 1  # throttled: waits
    now[0] += scribe_module.THROTTLE_BACKOFF_SECONDS
    await upstream.send(quiet[:6400])
    assert commits(socket) == 2
    socket.say("committed_transcript_with_timestamps", text="many words", words=words(("words", 24.0, 24.9)))
    await events.until(1)
    assert upstream.transcribed_until == pytest.approx(25.8)  # through where the commit was sent
    assert upstream.lag == pytest.approx(0.0)
    await upstream.close()
