"""Helpers for live-caption tests: a signed-in WebSocket client for a real
Daphne process, the same for the site's WebSocket application in-process
(Channels' WebsocketCommunicator), and 16 kHz PCM fixtures."""

from __future__ import annotations

import asyncio
import json
import math
import struct
import time
import wave
from pathlib import Path

import numpy as np
import websockets
from django.test import Client

FRAME = 6400  # 200 ms of 16 kHz PCM16


def tone(seconds: float, amplitude: float = 0.3, frequency: float = 220) -> bytes:
    t = np.arange(int(16000 * seconds)) / 16000
    return (amplitude * 32767 * np.sin(2 * math.pi * frequency * t)).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return b"\0\0" * int(16000 * seconds)


def utterances(count: int) -> bytes:
    """Speech-like bursts for the fake Scribe's VAD (1 s threshold): 1 s of
    tone then 1.2 s of silence each."""
    return b"".join(tone(1.0) + silence(1.2) for _ in range(count))


def frames(pcm: bytes, size: int = FRAME) -> list[bytes]:
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def speech_pcm(path: Path) -> bytes:
    """A recording decoded to 16 kHz mono PCM16."""
    from transcripts.media.audio import decoded_chunks

    audio = np.concatenate(list(decoded_chunks(str(path), None)))
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def saved_as_one(ended: dict, first_part: bytes, second_part: bytes) -> None:
    """One session, one transcript of both parts (of two utterances), one recording of both."""
    from django.core.files.storage import default_storage

    from realtime.models import LiveSession
    from transcripts.models import Transcript

    assert LiveSession.objects.count() == 1
    transcript = Transcript.objects.select_related("media", "result").get(pk=ended["transcript"])
    assert transcript.result.text == "alpha bravo charlie delta echo foxtrot"
    words = [w for w in transcript.result.data["words"] if w["type"] == "word"]
    assert words[3]["start"] >= len(first_part) / 32000  # the second part's time goes on from the first's end
    with default_storage.open(transcript.media.file.name, "rb") as handle, wave.open(handle) as wav:
        assert wav.readframes(wav.getnframes()) == first_part + second_part


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def marked(pcm: bytes, seq: int) -> bytes:
    """A frame whose first 8 bytes carry a sequence number (ordering checks)."""
    return struct.pack("<Q", seq) + pcm[8:]


class CaptionSocket:
    """What a test does with a live socket, whichever way it is connected:
    send audio and stop, and wait for what the server sent."""

    messages: list[dict]
    reader: asyncio.Task | None

    async def send(self, data: bytes | str) -> None:
        raise NotImplementedError

    async def stream(self, pcm: bytes, *, realtime: float = 0.0) -> None:
        """Send PCM in 200 ms frames; `realtime` = 1.0 paces it like a microphone."""
        for frame in frames(pcm):
            await self.send(frame)
            if realtime:
                await asyncio.sleep(len(frame) / 32000 / realtime)

    async def stop(self) -> dict:
        await self.send(json.dumps({"type": "stop"}))
        return await self.wait_for("ended", timeout=30)

    async def wait_for(self, kind: str, timeout: float = 15, **match) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if message.get("type") == kind and all(message.get(k) == v for k, v in match.items()):
                    return message
            if self.reader is None or self.reader.done():
                break
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {kind} {match} in {self.messages}")

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m.get("type") == kind]

    def one_of(self, kind: str, **match) -> dict:
        """The one message of `kind` with these fields."""
        (message,) = [m for m in self.of_type(kind) if all(m.get(k) == v for k, v in match.items())]
        return message


class LiveClient(CaptionSocket):
    """One browser-like socket: collects every message the server sends."""

    def __init__(
        self, base_url: str, cookie: str | None, *, path: str = "/ws/live/", query: str = "", origin: str | None = None
    ):
        self.url = base_url.replace("http", "ws", 1) + path + (f"?{query}" if query else "")
        self.origin = origin or base_url
        self.cookie = cookie
        self.messages: list[dict] = []
        self.ws = None
        self.reader: asyncio.Task | None = None

    async def __aenter__(self) -> LiveClient:
        headers = {"Cookie": f"sessionid={self.cookie}"} if self.cookie else {}
        self.ws = await websockets.connect(self.url, origin=self.origin, additional_headers=headers, max_size=2**22)
        self.reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()
        await asyncio.wait_for(self.reader, 15)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.messages.append(json.loads(raw))
        except websockets.ConnectionClosed:
            pass

    async def send(self, data: bytes | str) -> None:
        await self.ws.send(data)

    async def wait_closed(self, timeout: float = 20) -> int | None:
        await asyncio.wait_for(self.reader, timeout)
        return self.ws.close_code


IN_MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


class InProcessSocket(CaptionSocket):
    """LiveClient's counterpart on the site's WebSocket application, run in
    the test's event loop through Channels' WebsocketCommunicator."""

    def __init__(self, path: str, cookie: str | None = None, *, origin: str = "http://localhost:8000"):
        from channels.testing import WebsocketCommunicator

        from project.routing import websocket_application

        headers = [(b"origin", origin.encode()), (b"host", b"localhost:8000")]
        if cookie:
            headers.append((b"cookie", f"sessionid={cookie}".encode()))
        self.communicator = WebsocketCommunicator(websocket_application, path, headers=headers)
        self.messages: list[dict] = []
        self.close_code: int | None = None
        self.accepted = False
        self.reader: asyncio.Task | None = None

    async def __aenter__(self) -> InProcessSocket:
        self.accepted, code = await self.communicator.connect(timeout=10)
        if not self.accepted:
            self.close_code = code
            return self
        self.reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc) -> None:
        await self.disconnect(1000)

    async def _read(self) -> None:
        app = self.communicator.future
        while True:
            # (receive_output's timeout would cancel the application.)
            get = asyncio.ensure_future(self.communicator.output_queue.get())
            await asyncio.wait({get, app}, return_when=asyncio.FIRST_COMPLETED)
            if not get.done():
                get.cancel()
                app.result()  # the application's error, if it failed
                return
            output = get.result()
            if output["type"] == "websocket.close":
                self.close_code = output.get("code", 1000)
                return
            self.messages.append(json.loads(output["text"]))

    async def send(self, data: bytes | str) -> None:
        if isinstance(data, bytes):
            await self.communicator.send_to(bytes_data=data)
        else:
            await self.communicator.send_to(text_data=data)

    async def wait_closed(self, timeout: float = 20) -> int | None:
        if self.reader is not None:
            await asyncio.wait_for(asyncio.shield(self.reader), timeout)
        return self.close_code

    async def disconnect(self, code: int, timeout: float = 15) -> None:
        """The page's socket goes away with `code` (1006: dropped); returns once
        the consumer has finished with it."""
        if self.reader is not None and not self.reader.done():
            self.reader.cancel()
        # Refused sockets too, as Daphne does: a consumer that refused (Channels'
        # WebsocketDenier among them) runs until it hears of the disconnect, and
        # one left waiting in the channel layer's receive does not cancel cleanly.
        if not self.communicator.future.done():
            await self.communicator.disconnect(code=code, timeout=timeout)
        self.accepted = False
