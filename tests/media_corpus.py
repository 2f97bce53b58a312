"""Media files made in the test run: good recordings in several containers and
bad uploads (truncated, disguised, not media at all). Nothing is committed;
files are cached under tests/fixtures/generated."""

from __future__ import annotations

import io
import os
import random
import struct
import wave
import zipfile
import zlib
from fractions import Fraction
from pathlib import Path

from tests import support

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."


def speech_wav() -> Path:
    return support.speech_file(SENTENCE)


def speech_in(suffix: str) -> Path:
    return support.speech_file(SENTENCE, suffix)


def video_mp4() -> Path:
    """An MP4 with a small video track and the speech as AAC audio."""
    import av
    import numpy as np

    target = support.GENERATED / "speech-with-video.mp4"
    if target.exists():
        return target
    partial = support.GENERATED / f"partial-{os.getpid()}-speech-with-video.mp4"  # see support.speech_file
    with av.open(str(speech_wav())) as inp, av.open(str(partial), "w") as out:
        audio_in = inp.streams.audio[0]
        rate = audio_in.codec_context.sample_rate
        audio_out = out.add_stream("aac", rate=rate, layout="mono")
        video = out.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        resampler = av.AudioResampler(format=audio_out.codec_context.format, layout="mono", rate=rate)
        seconds = 0.0
        for frame in inp.decode(audio_in):
            seconds = max(seconds, float(frame.pts * frame.time_base) + frame.samples / rate)
            for resampled in resampler.resample(frame):
                for packet in audio_out.encode(resampled):
                    out.mux(packet)
        for packet in audio_out.encode(None):
            out.mux(packet)
        for index in range(int(seconds * 10)):
            image = np.full((48, 64, 3), index * 3 % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, 10)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
    os.replace(partial, target)
    return target


def truncated(path: Path, fraction: float = 0.5) -> bytes:
    data = path.read_bytes()
    return data[: int(len(data) * fraction)]


def png_bytes() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a recording\n" * 100)
        archive.writestr("speech.wav", speech_wav().read_bytes())
    return buffer.getvalue()


def random_bytes(size: int = 64 * 1024) -> bytes:
    return random.Random(1234).randbytes(size)


def silent_wav(seconds: float, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(seconds * rate))
    return buffer.getvalue()


SUBJECTS = [
    "the baker",
    "my neighbour",
    "a young teacher",
    "the old captain",
    "our doctor",
    "the farmer",
    "a tired student",
    "the mayor",
    "my sister",
    "the gardener",
    "a quiet painter",
    "the driver",
]
VERBS = [
    "carried",
    "painted",
    "found",
    "sold",
    "cleaned",
    "borrowed",
    "opened",
    "watched",
    "described",
    "repaired",
    "ordered",
    "forgot",
]
OBJECTS = [
    "a heavy wooden table",
    "the green bicycle",
    "seven fresh apples",
    "a letter from London",
    "the broken window",
    "a basket of bread",
    "the silver key",
    "an umbrella",
    "the morning paper",
    "a box of candles",
    "the blue jacket",
    "a small boat",
]
PLACES = [
    "near the station",
    "before lunch",
    "in the garden",
    "after the storm",
    "at the market",
    "by the river",
    "on Sunday",
    "behind the church",
    "during the concert",
    "in the kitchen",
    "at the harbour",
    "under the bridge",
]


def story(sentences: int, seed: int = 7) -> str:
    """Plain, varied English sentences. Repeating one sentence would make
    Whisper's compression-ratio check fall back to slow sampling, which is
    not what a real recording does."""
    rng = random.Random(seed)
    return " ".join(
        f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(PLACES)}."
        for _ in range(sentences)
    )
