"""A very large upload through the resumable (tus) path, against the plain
single-request upload of the same file, in one run.

    python -m bench.resumable_upload [--size-mb 3000] [--small-mb 300]

A valid WAV of `--size-mb` megabytes (16 kHz mono PCM silence, written
sparse: no time, no disk) is uploaded to a real Daphne serving the site in
embedded mode (local disk storage, no worker: the job stays queued), once in
one request and once in UPLOAD_CHUNK_SIZE pieces. For each: Daphne's peak
RSS growth (VmRSS sampled every 20 ms), the bytes Daphne wrote to disk per
byte uploaded (/proc/<pid>/io write_bytes: spools, temporary files and the
stored file), and throughput (file size over the time to the last answer,
the probe included). The resumable path is also measured on a `--small-mb`
file, to show its memory is flat in the file size.

Goals: RSS growth under 64 MB and flat in file size; 1.0 bytes written per
byte uploaded. Mind free disk: the single-request path spools the file
three times over before it is stored (about 4x the size at the peak).
"""

from __future__ import annotations

import argparse
import base64
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from bench.embedded import EmbeddedSite, upload
from bench.upload_memory import RssSampler, sparse_wav, status_kb

GOAL_GROWTH_MB = 64
PIECE_BYTES = 8 * 1024 * 1024  # the default UPLOAD_CHUNK_SIZE


def written_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise KeyError("write_bytes")


def tus_upload(client: httpx.Client, path: Path) -> None:
    size = path.stat().st_size
    metadata = f"filename {base64.b64encode(path.name.encode()).decode()},engine {base64.b64encode(b'local').decode()}"
    created = client.post(
        "/transcripts/tus/",
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(size), "Upload-Metadata": metadata},
    )
    created.raise_for_status()
    location, offset = created.headers["Location"], 0
    with path.open("rb") as file:
        while offset < size:
            piece = file.read(PIECE_BYTES)
            answer = client.patch(
                location,
                content=piece,
                headers={
                    "Tus-Resumable": "1.0.0",
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            if answer.status_code != 204:
                raise RuntimeError(f"piece refused ({answer.status_code}): {answer.text[:300]}")
            offset = int(answer.headers["Upload-Offset"])


def measure(pid: int, send, path: Path) -> dict[str, float]:
    baseline_rss, baseline_written = status_kb(pid, "VmRSS"), written_bytes(pid)
    started = time.perf_counter()
    with RssSampler(pid) as sampler:
        send(path)
    elapsed = time.perf_counter() - started
    size = path.stat().st_size
    return {
        "growth_mb": (sampler.peak_kb - baseline_rss) / 1024,
        "written_per_byte": (written_bytes(pid) - baseline_written) / size,
        "mb_per_s": size / 1e6 / elapsed,
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=3000)
    parser.add_argument("--small-mb", type=int, default=300)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="verbatim-bench-resumable-"))
    big = sparse_wav(work / "big.wav", args.size_mb * 1000**2)
    small = sparse_wav(work / "small.wav", args.small_mb * 1000**2)
    warm = sparse_wav(work / "warm.wav", 1000**2)
    # A 3 GB WAV is a few million packets for the probe to walk, and 26 hours of 16 kHz audio.
    site = EmbeddedSite(MAX_UPLOAD_SIZE=f"{args.size_mb + 100}MB", PROBE_TIMEOUT="900", MAX_MEDIA_DURATION="400000")
    results = {}
    try:
        pid = site.start_daphne().popen.pid
        client = site.signed_in_client()
        client.timeout = httpx.Timeout(1800)
        upload(client, warm)
        tus_upload(client, warm)  # warm: imports, first queries, the probe path
        results["tus, small"] = measure(pid, lambda path: tus_upload(client, path), small)
        results["tus"] = measure(pid, lambda path: tus_upload(client, path), big)
        results["single request"] = measure(pid, lambda path: upload(client, path), big)
    finally:
        site.stop()
        shutil.rmtree(work, ignore_errors=True)
    for name, label in (("tus, small", f"{args.small_mb} MB"), ("tus", f"{args.size_mb} MB"), ("single request", "")):
        row = results[name]
        print(
            f"{name:15s} {label or f'{args.size_mb} MB':>8s}: peak RSS growth {row['growth_mb']:6.1f} MB, "
            f"written to disk {row['written_per_byte']:.2f} bytes/byte, {row['mb_per_s']:6.1f} MB/s "
            f"({row['seconds']:.0f} s)"
        )
    tus, single = results["tus"], results["single request"]
    print(
        f"tus vs single request: throughput x{tus['mb_per_s'] / single['mb_per_s']:.2f}, "
        f"disk writes x{tus['written_per_byte'] / single['written_per_byte']:.2f}"
    )
    growth_ok = tus["growth_mb"] < GOAL_GROWTH_MB
    flat = abs(tus["growth_mb"] - results["tus, small"]["growth_mb"]) < 16
    print(
        f"goals: RSS growth under {GOAL_GROWTH_MB} MB {'met' if growth_ok else 'NOT met'}, "
        f"flat in file size {'yes' if flat else 'NO'}, "
        f"1.0 bytes written per byte {'met' if tus['written_per_byte'] < 1.05 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
