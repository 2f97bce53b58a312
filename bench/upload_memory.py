"""Memory of the web server while it takes a very large upload.

    python -m bench.upload_memory [--size-mb 1000]

A valid WAV of `--size-mb` megabytes (16 kHz mono PCM silence; written
sparse, so it takes no time) is streamed from disk with httpx to a real
Daphne serving the site in embedded mode (no worker: the job just stays
queued). Daphne's resident memory is sampled from /proc every 20 ms; its
peak growth (VmRSS samples and the kernel's VmHWM) over the idle baseline is
reported, next to the same measure for a 1 MB upload in the same run. The
goal is flat memory: under 64 MB of growth for a 1 GB upload.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from bench.embedded import EmbeddedSite, upload

GOAL_GROWTH_MB = 64
RATE = 16000


def sparse_wav(path: Path, size: int) -> Path:
    """A WAV header announcing `size - 44` bytes of PCM, and a sparse body."""
    data = size - 44
    data -= data % 2
    header = (
        b"RIFF"
        + (36 + data).to_bytes(4, "little")
        + b"WAVEfmt "
        + (16).to_bytes(4, "little")
        + (1).to_bytes(2, "little")
        + (1).to_bytes(2, "little")
        + RATE.to_bytes(4, "little")
        + (RATE * 2).to_bytes(4, "little")
        + (2).to_bytes(2, "little")
        + (16).to_bytes(2, "little")
        + b"data"
        + data.to_bytes(4, "little")
    )
    with path.open("wb") as file:
        file.write(header)
        file.truncate(44 + data)
    return path


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class RssSampler:
    def __init__(self, pid: int, interval: float = 0.02):
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak_kb = max(self.peak_kb, status_kb(self.pid, "VmRSS"))
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def measure(pid: int, client, path: Path) -> tuple[float, float, float]:
    """(peak RSS growth in MB, wall seconds, MB/s) for one upload."""
    baseline = status_kb(pid, "VmRSS")
    started = time.perf_counter()
    with RssSampler(pid) as sampler:
        upload(client, path)
    elapsed = time.perf_counter() - started
    size_mb = path.stat().st_size / 1e6
    return (sampler.peak_kb - baseline) / 1024, elapsed, size_mb / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="verbatim-bench-upload-"))
    big = sparse_wav(work / "big.wav", args.size_mb * 1000**2)
    small = sparse_wav(work / "small.wav", 1000**2)
    site = EmbeddedSite()
    try:
        daphne = site.start_daphne()
        pid = daphne.popen.pid
        client = site.signed_in_client()
        upload(client, small)  # warm: imports, first queries, the probe path
        small_growth, _, _ = measure(pid, client, small)
        hwm_before = status_kb(pid, "VmHWM")
        rss_before = status_kb(pid, "VmRSS")
        big_growth, elapsed, speed = measure(pid, client, big)
        hwm_growth = (status_kb(pid, "VmHWM") - max(hwm_before, rss_before)) / 1024
    finally:
        site.stop()
        for path in (big, small):
            path.unlink()
        work.rmdir()
    print(f"daphne RSS before the big upload: {rss_before / 1024:.0f} MB")
    print(f"1 MB upload   : peak RSS growth {small_growth:6.1f} MB")
    print(
        f"{args.size_mb} MB upload: peak RSS growth {big_growth:6.1f} MB (VmHWM growth {max(hwm_growth, 0):.1f} MB), "
        f"{elapsed:.1f} s, {speed:.0f} MB/s"
    )
    print(
        f"growth big/small: {big_growth - small_growth:+.1f} MB; goal under {GOAL_GROWTH_MB} MB: "
        f"{'met' if big_growth < GOAL_GROWTH_MB else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
