"""Helpers for tests that run real processes: free ports, a Daphne server,
Celery workers, and speech fixtures made with espeak-ng."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "tests" / "fixtures" / "generated"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=5)  # any answer, even an error: it is up
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def wait_until(condition, timeout: float = 60, interval: float = 0.25, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{message} not met within {timeout} s")


class CuttableRelay:
    """A TCP relay in front of a server, for a test to cut the network: every
    connection through it is shut at once, without a WebSocket close frame,
    so both ends see the connection drop (close code 1006), as when a laptop
    changes networks. Connections made after the cut go through."""

    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)

    def cut(self) -> int:
        """Drop every open connection; returns how many there were."""
        with self.lock:
            dropped, self.sockets = self.sockets, []
        for sock in dropped:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the pumps blocked in recv
            sock.close()
        return len(dropped) // 2

    def close(self) -> None:
        self.listener.close()
        self.cut()


# The test running now (tests/conftest.py sets it); None outside a test run (bench/).
current_test = None


class UnmarkedTest(Exception):
    """A test started a process without being marked slow or browser."""


def require_marked_test(what: str) -> None:
    item = current_test
    if item is not None and not any(item.get_closest_marker(mark) for mark in ("slow", "browser")):
        raise UnmarkedTest(f"{item.nodeid} starts {what} but is not marked slow or browser")


class Process:
    """A child process in its own process group, so a test can kill it whole."""

    def __init__(self, command: list[str], env: dict[str, str], log_name: str, *, service: bool = False):
        # A service the suite shares (S3 on loopback, like Postgres and Redis)
        # may start under any test; servers and workers of the site's own may not.
        if not service:
            require_marked_test(f"a process ({log_name})")
        self.log_path = Path(env["DATA_DIR"]) / f"{log_name}.log"
        self.log = open(self.log_path, "ab")  # noqa: SIM115
        self.popen = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15) -> None:
        if self.popen.poll() is None:
            self.kill(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.popen.wait(5)
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def process_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "ELEVENLABS_", "TEST_DATABASE_", "TEST_REDIS_"))
        and key != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }  # set for Playwright in the test process only
    # Children run the real settings: tests.settings would point them at the
    # non-test database named by TEST_DATABASE_URL instead of DATABASE_URL.
    env.update({"PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "DJANGO_SETTINGS_MODULE": "project.settings"})
    env.update(overrides)
    return env


# Variables that point the site at services; without them it runs embedded.
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "PROGRESS_POLL_SECONDS",
    "S3_BUCKET",
    "DEFAULT_ENGINE",
    "SECRET_KEY",
    "DEBUG",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def embedded_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a site with nothing configured: SQLite, a filesystem
    broker and no Redis, all under `data_dir`."""
    env = process_env(DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="project.settings")
    for name in SERVICE_VARIABLES:
        env.pop(name, None)
    env.update(overrides)
    return env


def start_daphne(env: dict[str, str], port: int) -> Process:
    process = Process(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "project.asgi:application"],
        env,
        f"daphne-{port}",
    )
    # /healthz answers within its own deadline even when the database does not.
    wait_for_http(f"http://127.0.0.1:{port}/healthz")
    return process


def start_worker(
    env: dict[str, str],
    queues: str = "cpu,io,default",
    *,
    beat: bool = False,
    concurrency: int = 1,
    name: str = "test",
    pool: str = "prefork",
) -> Process:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "project",
        "worker",
        "-Q",
        queues,
        "-c",
        str(concurrency),
        "-P",
        pool,
        "-n",
        f"{name}-{time.monotonic_ns()}@%h",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    if beat:
        command += ["-B", "-s", str(Path(env["DATA_DIR"]) / f"beat-{name}")]
    process = Process(command, env, f"worker-{name}")
    wait_until(lambda: "ready." in process.output() or process.popen.poll() is not None, 60, message="worker ready")
    if process.popen.poll() is not None:
        raise RuntimeError("worker exited:\n" + process.output())
    return process


def speech_file(text: str, suffix: str = ".wav", *, voice: str = "en-us", speed: int = 150) -> Path:
    """A recording of `text` spoken by espeak-ng, cached by content."""
    GENERATED.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"{voice}|{speed}|{text}".encode()).hexdigest()[:16]
    target = GENERATED / f"speech-{key}{suffix}"
    if target.exists():
        return target
    wav = GENERATED / f"speech-{key}.wav"
    # Written under a name of this process's and then renamed: parallel test
    # processes may make the same file at once, and must never read half of one.
    partial = GENERATED / f"partial-{os.getpid()}-{key}"
    if not wav.exists():
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", f"{partial}.wav", text], check=True)
        os.replace(f"{partial}.wav", wav)
    if suffix != ".wav":
        convert(wav, Path(f"{partial}{suffix}"))
        os.replace(f"{partial}{suffix}", target)
    return target


def convert(source: Path, target: Path, *extra: str) -> Path:
    """Re-encode with PyAV's bundled FFmpeg (no system ffmpeg needed)."""
    import av

    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        codec = {".mp3": "mp3", ".m4a": "aac", ".mp4": "aac", ".ogg": "libopus", ".flac": "flac"}.get(
            target.suffix, "pcm_s16le"
        )
        stream_in = inp.streams.audio[0]
        rate = 48000 if codec == "libopus" else stream_in.codec_context.sample_rate
        stream_out = out.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream_out.codec_context.format, layout="mono", rate=rate)
        for frame in inp.decode(stream_in):
            for resampled in resampler.resample(frame):
                for packet in stream_out.encode(resampled):
                    out.mux(packet)
        for packet in stream_out.encode(None):
            out.mux(packet)
    return target


def have_chromium() -> bool:
    return shutil.which("chromium") is not None


def spoken_words(text: str) -> list[str]:
    return re.sub(r"[^\w' ]", " ", text.lower()).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference length."""
    ref, hyp = spoken_words(reference), spoken_words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, expected in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, heard in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (expected != heard))
    return row[-1] / len(ref)
