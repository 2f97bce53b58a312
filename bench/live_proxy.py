"""What proxying live audio through Daphne costs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/verbatim_c \\
        python -m bench.live_proxy [--sessions 1 50 200] [--seconds 20] [--clients 2]

For each N, N sessions stream real-time 16 kHz PCM (200 ms chunks) for
`--seconds`, twice in the same run:
- direct: straight to the fake Scribe realtime server (the baseline);
- proxied: through one Daphne process running the real live consumer
  (`/ws/live/?engine=scribe`), which relays to the same fake.
The fake answers every chunk at once with a partial naming it, so each chunk
gives an uplink time (client send -> fake receipt) and a downlink time (fake
send -> client receipt). Reported: p50/p99 of both, the added latency of the
proxy (proxied minus direct), the Daphne process's CPU, and chunks lost.
A throw-away database `<name>_bench_live` is created and dropped.

The fake runs in a process of its own and the clients in `--clients`
processes (sessions dealt round-robin), so that neither the fake's nor the
clients' interpreter is what limits the measurement; their CPU is printed
so that can be checked. What is measured is streaming: all sessions connect
before any streams, and all have streamed before any closes (barriers across
the client processes), so neither the storm of N connections nor that of N
endings overlaps the measured chunks. The endings are measured on their own:
how long the server took to save every proxied session after they all
closed at once. After its last chunk each session waits up to
ECHO_WAIT_SECONDS for its outstanding echoes, so a chunk that is merely late
is counted in the latency, not as lost. Server-side closes are counted by
code (1013 buffer full, 4429 refused, ...).

Diagnostics: BENCH_PROFILE=/x.prof runs Daphne under cProfile;
BENCH_ASGI=module:app serves another ASGI app (e.g. one that wraps
project.asgi with timing probes); BENCH_DUMP=/x.json writes the proxied
run's per-chunk send and arrival times.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import random
import struct
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHUNK_SECONDS = 0.2
CHUNK_BYTES = int(32000 * CHUNK_SECONDS)
GOAL_P99_MS = 50
ECHO_WAIT_SECONDS = 15.0


@dataclass
class Run:
    sent: dict[str, float] = field(default_factory=dict)  # chunk id -> client send time
    received: dict[str, float] = field(default_factory=dict)  # chunk id -> client receipt of the echo
    connect_failures: int = 0
    server_closes: dict[str, int] = field(default_factory=dict)  # close code -> sessions the server closed early
    cpu: float = 0.0  # client CPU seconds
    connect_seconds: float = 0.0  # until this process's sessions were all connected
    closed_at: float = 0.0  # when the sessions, all streamed, began to close

    def merge(self, other: Run) -> None:
        self.sent.update(other.sent)
        self.received.update(other.received)
        self.connect_failures += other.connect_failures
        for code, count in other.server_closes.items():
            self.server_closes[code] = self.server_closes.get(code, 0) + count
        self.cpu += other.cpu
        self.connect_seconds = max(self.connect_seconds, other.connect_seconds)
        self.closed_at = max(self.closed_at, other.closed_at)


def setup_django():
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/verbatim_c")
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="verbatim-bench-live-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    # As deployed (DEBUG off), over plain HTTP on loopback; Daphne inherits
    # these, and must share the secret key to accept the session cookie.
    os.environ.update(DEBUG="false", SECRET_KEY="bench-" + "x" * 50, SECURE_SSL_REDIRECT="false")
    for name in ("ELEVENLABS_API_KEY", "REDIS_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.db import connection

    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{connection.settings_dict['NAME']}_bench_live"
    original = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    return connection, original


def make_cookie() -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password-123")
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def chunk(session: int, seq: int) -> tuple[str, bytes]:
    ident = struct.pack("<II", session, seq)
    noise = random.randbytes(CHUNK_BYTES - 8)
    return ident.hex(), ident + noise


async def direct_session(fake, index: int, seconds: float, run: Run, meet) -> None:
    import websockets

    url = f"{fake.ws_url}/v1/speech-to-text/realtime?model_id=scribe_v2_realtime&audio_format=pcm_16000"
    try:
        ws = await websockets.connect(url, additional_headers={"xi-api-key": fake.api_key}, compression=None)
        await ws.recv()  # session_started
    except Exception:
        run.connect_failures += 1
        await meet("connected")
        await meet("streamed")
        return

    async def send(pcm: bytes) -> None:
        await ws.send(
            json.dumps(
                {
                    "message_type": "input_audio_chunk",
                    "commit": False,
                    "sample_rate": 16000,
                    "audio_base_64": base64.b64encode(pcm).decode(),
                }
            )
        )

    def echo(raw) -> str | None:
        text = json.loads(raw).get("text", "")
        return text[5:] if text.startswith("echo:") else None

    await stream(ws, index, seconds, run, meet, send, echo)


async def proxied_session(base_url: str, cookie: str, index: int, seconds: float, run: Run, meet):
    import websockets

    url = base_url.replace("http", "ws", 1) + "/ws/live/?engine=scribe"
    try:
        ws = await websockets.connect(
            url, origin=base_url, additional_headers={"Cookie": f"sessionid={cookie}"}, compression=None
        )
        ready = json.loads(await ws.recv())
        assert ready["type"] == "ready", ready
    except Exception as error:
        print("  connect failed:", error)
        run.connect_failures += 1
        await meet("connected")
        await meet("streamed")
        return

    def echo(raw) -> str | None:
        message = json.loads(raw)
        text = message.get("text", "") if message.get("type") == "partial" else ""
        return text[5:] if text.startswith("echo:") else None

    await stream(ws, index, seconds, run, meet, ws.send, echo)


async def stream(ws, index, seconds, run: Run, meet, send, echo) -> None:
    import websockets

    outstanding: set[str] = set()
    all_sent = False
    done = asyncio.Event()
    closing = False

    async def reader() -> None:
        try:
            async for raw in ws:
                ident = echo(raw)
                if ident:
                    run.received[ident] = time.monotonic()
                    outstanding.discard(ident)
                    if all_sent and not outstanding:
                        done.set()
        except websockets.ConnectionClosed:
            pass
        if not closing:  # the server ended the session before the client did
            code = str(ws.close_code)
            run.server_closes[code] = run.server_closes.get(code, 0) + 1
        done.set()

    task = asyncio.create_task(reader())
    start_at = await meet("connected") + 0.5
    await asyncio.sleep(max(start_at - time.monotonic(), 0) + random.random() * CHUNK_SECONDS)
    began = time.monotonic()
    for seq in range(int(seconds / CHUNK_SECONDS)):
        await asyncio.sleep(max(began + seq * CHUNK_SECONDS - time.monotonic(), 0))
        if done.is_set():
            break  # the server closed the session: what was not sent is not counted as sent
        ident, pcm = chunk(index, seq)
        run.sent[ident] = time.monotonic()
        outstanding.add(ident)
        try:
            await send(pcm)
        except websockets.ConnectionClosed:
            break
    all_sent = True
    if outstanding:
        try:
            await asyncio.wait_for(done.wait(), ECHO_WAIT_SECONDS)  # the last echoes, however late
        except TimeoutError:
            pass
    run.closed_at = await meet("streamed")
    closing = True
    await ws.close()
    task.cancel()


def percentiles(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    values = sorted(values)
    return values[len(values) // 2] * 1000, values[min(len(values) - 1, int(len(values) * 0.99))] * 1000


def summarise(run: Run, arrivals: dict[str, float]) -> dict:
    up = [arrivals[i] - t for i, t in run.sent.items() if i in arrivals]
    down = [run.received[i] - arrivals[i] for i in run.received if i in arrivals]
    lost_up = sum(1 for i in run.sent if i not in arrivals)
    lost_down = sum(1 for i in run.sent if i in arrivals and i not in run.received)
    return {
        "up": percentiles(up),
        "down": percentiles(down),
        "sent": len(run.sent),
        "lost_up": lost_up,
        "lost_down": lost_down,
        "connect_failures": run.connect_failures,
    }


class RemoteFake:
    """The fake Scribe server in a process of its own, so that its work and
    the clients' do not share one interpreter (and one GIL) with each other.
    It collects garbage only between runs: a full collection in the fake
    took 90 ms, and showed up as a burst of slow chunks that was put down
    to whichever path, direct or proxied, it happened to land in."""

    def __init__(self):
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=self._serve, args=(child,), daemon=True)
        self.process.start()
        self.port, self.api_key = self.pipe.recv()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"

    @staticmethod
    def _serve(pipe) -> None:
        import logging

        from tests.fakes.scribe import FakeScribe

        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
        gc.disable()
        with FakeScribe() as fake:
            fake.realtime.echo = True
            fake.realtime.keep_audio = False
            pipe.send((fake.port, fake.api_key))
            while (command := pipe.recv()) != "stop":
                if command == "take":
                    pipe.send(dict(fake.realtime.arrivals))
                    fake.realtime.arrivals.clear()
                    gc.collect()

    def take_arrivals(self) -> dict[str, float]:
        self.pipe.send("take")
        return self.pipe.recv()

    def stop(self) -> None:
        self.pipe.send("stop")
        self.process.join(10)


def last_session_pk() -> int:
    from django.db import connection
    from django.db.models import Max

    from realtime.models import LiveSession

    pk = LiveSession.objects.aggregate(last=Max("pk"))["last"] or 0
    connection.close()  # client processes are forked next
    return pk


def sessions_saved(after_pk: int, closed_at: float, timeout: float = 60.0) -> tuple[int, int, float]:
    """(saved, opened, seconds): of the live sessions the server opened after
    after_pk, how many it has saved, and how long after closed_at it had
    saved them all (or gave up waiting)."""
    from django.db import connection

    from realtime.models import LiveSession, LiveStatus

    deadline = time.monotonic() + timeout
    while True:
        sessions = LiveSession.objects.filter(pk__gt=after_pk)
        opened, saved = sessions.count(), sessions.filter(status=LiveStatus.ENDED).count()
        if saved == opened or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    connection.close()
    return saved, opened, time.monotonic() - closed_at


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Rendezvous:
    """Where the sessions of every client process wait for each other: once
    all are connected ("connected") and once all have streamed ("streamed"),
    so that the measured chunks overlap neither storm. Every session passes
    each point once, whether or not it managed to connect."""

    def __init__(self, sessions: int, barrier):
        self.sessions = sessions
        self.barrier = barrier  # across the client processes; reusable
        self.arrived: dict[str, int] = {}
        self.passed: dict[str, asyncio.Event] = {}
        self.last_arrival: dict[str, float] = {}  # this process's last session at the point
        self.met_at: dict[str, float] = {}  # every process's sessions at the point

    async def __call__(self, point: str) -> float:
        passed = self.passed.setdefault(point, asyncio.Event())
        self.arrived[point] = self.arrived.get(point, 0) + 1
        if self.arrived[point] == self.sessions:
            self.last_arrival[point] = time.monotonic()
            await asyncio.to_thread(self.barrier.wait)
            self.met_at[point] = time.monotonic()
            passed.set()
        await passed.wait()
        return self.met_at[point]


async def run_sessions(factory, indexes: list[int], barrier) -> Run:
    run = Run()
    began = time.monotonic()
    meet = Rendezvous(len(indexes), barrier)
    await asyncio.gather(*(factory(i, run, meet) for i in indexes))
    run.connect_seconds = meet.last_arrival["connected"] - began
    return run


def run_clients(factory, count: int, processes: int) -> Run:
    """N sessions driven from `processes` forked client processes, merged.
    time.monotonic() is the system-wide CLOCK_MONOTONIC, so send and arrival
    times from different processes compare directly."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    processes = min(processes, count)
    barrier = context.Barrier(processes)
    pipes = []
    for k in range(processes):
        parent, child = context.Pipe()
        indexes = list(range(k, count, processes))

        def work(pipe=child, indexes=indexes) -> None:
            gc.disable()  # a measuring client must not pause; it lives for one run
            cpu = time.process_time()
            run = asyncio.run(run_sessions(factory, indexes, barrier))
            run.cpu = time.process_time() - cpu
            pipe.send(run)

        process = context.Process(target=work, daemon=True)
        process.start()
        pipes.append((parent, process))
    merged = Run()
    for parent, process in pipes:
        merged.merge(parent.recv())
        process.join()
    return merged


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 50, 200])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    args = parser.parse_args()
    connection, original = setup_django()
    import logging

    from django.conf import settings

    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

    from tests.support import Process, free_port, process_env, wait_for_http

    try:
        cookie = make_cookie()
        connection.close()  # the fake's process is forked next
        fake = RemoteFake()
        try:
            port = free_port()
            env = process_env(
                DATABASE_URL=f"postgres://{connection.settings_dict['USER']}@{connection.settings_dict['HOST']}:"
                f"{connection.settings_dict['PORT']}/{connection.settings_dict['NAME']}",
                DATA_DIR=str(settings.DATA_DIR),
                ELEVENLABS_API_KEY=fake.api_key,
                ELEVENLABS_BASE_URL=fake.base_url,
                LIVE_MAX_SESSIONS_PER_USER="100000",
                LOG_LEVEL="WARNING",
            )
            # BENCH_PROFILE=/path.prof runs Daphne under cProfile (written when it stops).
            profile = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
            daphne = Process(
                [
                    sys.executable,
                    *profile,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    os.environ.get("BENCH_ASGI", "project.asgi:application"),
                ],
                env,
                "daphne-bench",
            )
            base_url = f"http://127.0.0.1:{port}"
            wait_for_http(base_url + "/")
            try:
                report(fake, daphne, base_url, cookie, args)
            finally:
                daphne.stop()
        finally:
            fake.stop()
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)


def report(fake, daphne, base_url: str, cookie: str, args) -> None:
    print(f"live proxy: {args.seconds:.0f} s of real-time PCM per session, {CHUNK_SECONDS * 1000:.0f} ms chunks")
    print(
        f"{'N':>4} {'path':>8} {'up p50':>8} {'up p99':>8} {'down p50':>9} {'down p99':>9} {'lost':>5} "
        f"{'daphne CPU':>11} {'clients CPU':>11} {'fake CPU':>9}  load"
    )
    for count in args.sessions:
        fake.take_arrivals()
        fake_before, wall_before = cpu_seconds(fake.process.pid), time.monotonic()
        direct = run_clients(lambda i, run, at: direct_session(fake, i, args.seconds, run, at), count, args.clients)
        direct_wall = time.monotonic() - wall_before
        direct_fake = (cpu_seconds(fake.process.pid) - fake_before) / direct_wall
        base = summarise(direct, fake.take_arrivals())
        fake_before, after_pk = cpu_seconds(fake.process.pid), last_session_pk()
        cpu_before, wall_before = cpu_seconds(daphne.popen.pid), time.monotonic()
        proxied = run_clients(
            lambda i, run, at: proxied_session(base_url, cookie, i, args.seconds, run, at), count, args.clients
        )
        proxied_wall = time.monotonic() - wall_before
        cpu = (cpu_seconds(daphne.popen.pid) - cpu_before) / proxied_wall
        proxied_fake = (cpu_seconds(fake.process.pid) - fake_before) / proxied_wall
        arrivals = fake.take_arrivals()
        prox = summarise(proxied, arrivals)
        saved, opened, saving = sessions_saved(after_pk, proxied.closed_at)
        if os.environ.get("BENCH_DUMP"):
            Path(os.environ["BENCH_DUMP"]).write_text(json.dumps({"sent": proxied.sent, "arrivals": arrivals}))
        load = Path("/proc/loadavg").read_text().split()[0]
        for name, row, extra, run, wall, fake_cpu in (
            ("direct", base, "", direct, direct_wall, direct_fake),
            ("proxied", prox, f"{cpu * 100:.0f}%", proxied, proxied_wall, proxied_fake),
        ):
            lost = row["lost_up"] + row["lost_down"] + row["connect_failures"]
            print(
                f"{count:>4} {name:>8} {row['up'][0]:7.1f}ms {row['up'][1]:7.1f}ms {row['down'][0]:8.1f}ms "
                f"{row['down'][1]:8.1f}ms {lost:>5} {extra:>11} {run.cpu / wall * 100:10.0f}% "
                f"{fake_cpu * 100:8.0f}%  {load}"
            )
            print(f"       {name}: all {count} sessions connected in {run.connect_seconds:.1f} s")
            if run is proxied:
                print(f"       proxied: {saved} of {opened} sessions saved {saving:.1f} s after all closed at once")
            if run.server_closes:
                print(f"       {name}: sessions closed early by the server, by close code: {run.server_closes}")
            if lost:
                print(
                    f"       {name}: lost {row['lost_up']} before the fake, {row['lost_down']} on the way back, "
                    f"{row['connect_failures']} connections failed"
                )
        added_up = prox["up"][1] - base["up"][1]
        added_down = prox["down"][1] - base["down"][1]
        verdict = (
            "meets"
            if max(added_up, added_down) < GOAL_P99_MS
            and not (prox["lost_up"] or prox["lost_down"] or prox["connect_failures"])
            and saved == opened
            else "MISSES"
        )
        print(
            f"{count:>4}    added: up p50 {prox['up'][0] - base['up'][0]:+.1f} ms, p99 {added_up:+.1f} ms; "
            f"down p50 {prox['down'][0] - base['down'][0]:+.1f} ms, p99 {added_down:+.1f} ms; "
            f"chunks sent {prox['sent']}; {verdict} the goal (p99 added < {GOAL_P99_MS} ms, nothing lost)"
        )


if __name__ == "__main__":
    main()
