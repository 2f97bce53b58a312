"""Helpers for live-caption tests: a signed-in WebSocket client for the real
Daphne process, and 16 kHz PCM fixtures."""

from __future__ import annotations

import asyncio
import json
import math
import struct
import time
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


def frames(pcm: bytes, size: int = FRAME) -> list[bytes]:
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def speech_pcm(path: Path) -> bytes:
    """A recording decoded to 16 kHz mono PCM16."""
    from transcripts.media.audio import decoded_chunks

    audio = np.concatenate(list(decoded_chunks(str(path), None)))
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def marked(pcm: bytes, seq: int) -> bytes:
    """A frame whose first 8 bytes carry a sequence number (ordering checks)."""
    return struct.pack("<Q", seq) + pcm[8:]


class LiveClient:
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

    async def wait_for(self, kind: str, timeout: float = 15, **match) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if message.get("type") == kind and all(message.get(k) == v for k, v in match.items()):
                    return message
            if self.reader.done():
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {kind} {match} in {self.messages}")

    async def wait_closed(self, timeout: float = 20) -> int | None:
        await asyncio.wait_for(self.reader, timeout)
        return self.ws.close_code

    async def stream(self, pcm: bytes, *, realtime: float = 0.0) -> None:
        """Send PCM in 200 ms frames; `realtime` = 1.0 paces it like a microphone."""
        for frame in frames(pcm):
            await self.ws.send(frame)
            if realtime:
                await asyncio.sleep(len(frame) / 32000 / realtime)

    async def stop(self) -> dict:
        await self.ws.send(json.dumps({"type": "stop"}))
        return await self.wait_for("ended", timeout=30)

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m.get("type") == kind]


def threaded(test):
    """Run an async test body on its own event loop in a fresh thread.

    Playwright's sync API runs an event loop in the main thread while a
    browser test is open; a thread of our own never depends on what loop
    state other tests leave behind."""
    import functools
    import threading

    @functools.wraps(test)
    def run(*args, **kwargs):
        outcome: dict[str, BaseException] = {}

        def target() -> None:
            try:
                asyncio.run(test(*args, **kwargs))
            except BaseException as error:  # re-raised in the test's thread
                outcome["error"] = error

        thread = threading.Thread(target=target, name=f"test-{test.__name__}")
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]

    return run
