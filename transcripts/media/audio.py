"""Stored media decoded for engines: 16 kHz float32 audio of one channel
(or the mono downmix), in chunks or in windows of a few minutes cut at quiet
moments, so memory stays flat on a ten-hour file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

import av
import numpy as np

from transcripts.media.pcm import SAMPLE_RATE

WINDOW_SECONDS = 300
# A window ends at the quietest moment of its last few seconds, not mid-word.
CUT_SEARCH_SECONDS = 5
CUT_FRAME = SAMPLE_RATE // 10


def quietest_cut(audio: np.ndarray) -> int:
    """Index at which to end a window: the quietest 100 ms in its tail."""
    tail_start = max(0, len(audio) - CUT_SEARCH_SECONDS * SAMPLE_RATE)
    tail = audio[tail_start:]
    frames = len(tail) // CUT_FRAME
    if frames < 2:
        return len(audio)
    energy = np.square(tail[: frames * CUT_FRAME]).reshape(frames, CUT_FRAME).mean(axis=1)
    return tail_start + int(np.argmin(energy)) * CUT_FRAME + CUT_FRAME // 2


def decoded_chunks(source: str | BinaryIO, channel: int | None) -> Iterator[np.ndarray]:
    """16 kHz float32 audio of one channel (or the mono downmix), in chunks,
    from a path or an open (seekable) file. Trusted files only: an untrusted
    one is decoded in a child process (transcripts.media.decoder)."""
    with av.open(source, metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        # The resampler only ever sees mono: FFmpeg's resampler, given a
        # layout it does not know (a WAV of 8, 12 or 16 channels), crashed
        # the process. The channel is picked (or mixed) here instead.
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=SAMPLE_RATE)
        for frame in _frames(container, stream):
            for out in resampler.resample(mono_frame(frame, channel)):
                yield out.to_ndarray()[0]
        for out in resampler.resample(None):
            yield out.to_ndarray()[0]


def channel_samples(frame: av.AudioFrame) -> np.ndarray:
    """A frame's samples as float32, one row per channel, whatever its format."""
    array = frame.to_ndarray()
    if not frame.format.is_planar:  # interleaved: one row of samples x channels
        array = array.reshape(frame.samples, -1).T
    if array.dtype == np.uint8:
        return (array.astype(np.float32) - 128) / 128
    if np.issubdtype(array.dtype, np.integer):
        full_scale = -float(np.iinfo(array.dtype.type).min)  # type: ignore[type-var]  # an integer dtype here
        return array.astype(np.float32) / full_scale
    return array.astype(np.float32)


def mono_frame(frame: av.AudioFrame, channel: int | None) -> av.AudioFrame:
    """One channel of `frame` (the average of all when None), as a mono frame."""
    samples = channel_samples(frame)
    mono = samples.mean(axis=0) if channel is None else samples[min(channel, len(samples) - 1)]
    row = np.ascontiguousarray(mono, dtype=np.float32)[None, :]
    out = av.AudioFrame.from_ndarray(row, format="fltp", layout="mono")
    out.sample_rate = frame.sample_rate
    out.pts = frame.pts
    out.time_base = frame.time_base
    return out


def _frames(container, stream) -> Iterator:
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:
            continue  # one damaged packet should not lose the rest of the file


def audio_windows(
    source: str | BinaryIO, channel: int | None, window_seconds: int = WINDOW_SECONDS
) -> Iterator[tuple[float, np.ndarray]]:
    """(offset in seconds, audio) windows of about `window_seconds`, decoded
    in this process (trusted files)."""
    return windows(decoded_chunks(source, channel), window_seconds)


def windows(chunks: Iterable[np.ndarray], window_seconds: int = WINDOW_SECONDS) -> Iterator[tuple[float, np.ndarray]]:
    """(offset in seconds, audio) windows of about `window_seconds`, cut at
    quiet moments, from 16 kHz chunks however they were decoded."""
    window = window_seconds * SAMPLE_RATE
    pending: list[np.ndarray] = []
    pending_len = 0
    offset = 0
    for chunk in chunks:
        pending.append(chunk)
        pending_len += len(chunk)
        if pending_len >= window + CUT_SEARCH_SECONDS * SAMPLE_RATE:
            audio = np.concatenate(pending)
            cut = quietest_cut(audio[:window])
            yield offset / SAMPLE_RATE, audio[:cut]
            offset += cut
            pending, pending_len = [audio[cut:]], len(audio) - cut
    if pending_len:
        yield offset / SAMPLE_RATE, np.concatenate(pending)
