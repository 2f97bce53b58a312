"""`manage.py serve` (what `make run` starts) as a real process: the
embedded site is not a debug server, and the command supervises its
children (web, workers, beat)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests import processes, support
from tests.conftest import site_env

pytestmark = pytest.mark.slow


def migrated_embedded_env(data_dir, **overrides: str) -> dict[str, str]:
    env = support.embedded_env(data_dir, **overrides)
    data_dir.mkdir(exist_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=support.ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    return env


def start_serve(env: dict[str, str], *extra: str) -> tuple[str, support.Process]:
    port = support.free_port()
    server = support.Process([sys.executable, "manage.py", "serve", "--port", str(port), *extra], env, f"serve-{port}")
    base_url = f"http://127.0.0.1:{port}"
    support.wait_for_http(base_url + "/", timeout=60)
    return base_url, server


def test_the_embedded_site_is_not_a_debug_server(tmp_path):
    env = migrated_embedded_env(tmp_path / "data")
    base_url, server = start_serve(env, "--no-worker")
    try:
        missing = httpx.get(base_url + "/no/such/page/")
        assert missing.status_code == 404
        assert "Page not found" in missing.text
        assert "URLconf" not in missing.text  # Django's technical 404 lists every URL
        home = httpx.get(base_url + "/")
        assert home.status_code == 200
        stylesheet = httpx.get(base_url + "/static/css/app.css")  # served with nothing collected
        assert stylesheet.status_code == 200
        assert stylesheet.headers["content-type"].startswith("text/css")
        assert "Set-Cookie" not in home.headers or "Secure" not in home.headers["Set-Cookie"]  # plain HTTP works
    finally:
        server.stop(timeout=10)
    assert (tmp_path / "data" / "secret_key").exists()


# Small pools: several sites may run at once on a 2-core machine.
SMALL = {"LOCAL_STT_CONCURRENCY": "1", "SCRIBE_WORKER_THREADS": "2"}


def children_of(server: support.Process) -> dict[str, processes.Running]:
    """serve's direct children by program, once all are up."""
    found = {}
    for child in processes.descendants(server.popen.pid):
        if child.ppid != server.popen.pid:
            continue
        if "daphne" in child.command:
            found["web"] = child
        elif "cpu,default" in child.command:
            found["worker-cpu"] = child
        elif "-Q io" in child.command:
            found["worker-io"] = child
        elif " beat " in child.command:
            found["beat"] = child
    return found


def wait_for_children(server: support.Process, *names: str) -> dict[str, processes.Running]:
    return support.wait_until(
        lambda: (found := children_of(server)) and all(name in found for name in names) and found,
        90,
        message=f"serve's {', '.join(names)} running",
    )


def beats(*servers: support.Process) -> list[processes.Running]:
    return [child for server in servers for child in children_of(server).values() if " beat " in child.command]


def stop_and_check_nothing_is_left(server: support.Process, sig: int) -> None:
    everything = processes.descendants(server.popen.pid)
    assert everything
    processes.kill(server.popen.pid, sig)
    assert server.popen.wait(60) == 0, server.output()[-3000:]
    support.wait_until(
        lambda: not [process for process in everything if processes.alive(process.pid)],
        30,
        message="every process serve started gone",
    )


def test_a_dead_worker_or_web_server_is_restarted_and_leaves_nothing_behind(tmp_path):
    env = migrated_embedded_env(tmp_path / "data", **SMALL)
    base_url, server = start_serve(env)
    try:
        first = wait_for_children(server, "web", "worker-cpu", "worker-io", "beat")
        worker = first["worker-cpu"]
        support.wait_until(lambda: len(processes.in_group(worker.pid)) > 1, 60, message="the worker's pool")
        processes.kill(worker.pid, signal.SIGKILL)
        # Its pool processes went with it, and a new worker took its place.
        support.wait_until(lambda: not processes.in_group(worker.pid), 30, message="the dead worker's pool gone")
        again = wait_for_children(server, "worker-cpu")
        assert again["worker-cpu"].pid != worker.pid
        assert "worker-cpu exited" in server.output()

        processes.kill(first["web"].pid, signal.SIGKILL)
        support.wait_until(lambda: children_of(server).get("web", first["web"]).pid != first["web"].pid, 30)
        support.wait_for_http(base_url + "/", timeout=60)
        assert httpx.get(base_url + "/").status_code == 200
        assert server.popen.poll() is None
        assert len(beats(server)) == 1

        stop_and_check_nothing_is_left(server, signal.SIGTERM)
    finally:
        server.stop(timeout=30)


def test_two_serves_on_one_data_dir_run_one_beat_and_the_second_takes_over(tmp_path):
    env = migrated_embedded_env(tmp_path / "data", **SMALL)
    _, first = start_serve(env)
    _, second = start_serve(env)
    try:
        wait_for_children(first, "web", "worker-cpu", "worker-io")
        wait_for_children(second, "web", "worker-cpu", "worker-io")
        support.wait_until(lambda: beats(first, second), 60, message="a beat")
        for _ in range(8):  # never a second one
            assert len(beats(first, second)) == 1
            time.sleep(0.5)
        holder, other = (first, second) if beats(first) else (second, first)

        stop_and_check_nothing_is_left(holder, signal.SIGINT)
        support.wait_until(lambda: beats(other), 30, message="the other serve's beat")
        assert len(beats(other)) == 1

        # Even killed outright, serve leaves no orphan: each child is told when it dies.
        everything = processes.descendants(other.popen.pid)
        processes.kill(other.popen.pid, signal.SIGKILL)
        support.wait_until(
            lambda: not [process for process in everything if processes.alive(process.pid)],
            60,
            message="every process of the killed serve gone",
        )
    finally:
        first.stop(timeout=30)
        second.stop(timeout=30)


def test_two_serves_sharing_redis_run_one_beat(transactional_db, tmp_path):
    servers = []
    try:
        for name in ("one", "two"):
            env = {**site_env(**SMALL), "DATA_DIR": str(tmp_path / name)}
            (tmp_path / name).mkdir()
            servers.append(start_serve(env)[1])
        for server in servers:
            wait_for_children(server, "web", "worker-cpu", "worker-io")
        support.wait_until(lambda: beats(*servers), 60, message="a beat")
        for _ in range(8):
            assert len(beats(*servers)) == 1
            time.sleep(0.5)
    finally:
        for server in servers:
            server.stop(timeout=30)


def test_serve_only_beat_runs_beat_alone_under_the_lock(tmp_path):
    """What compose's beat service runs: a second copy waits for the lock."""
    env = migrated_embedded_env(tmp_path / "data")
    first = support.Process([sys.executable, "manage.py", "serve", "--only", "beat"], env, "beat-one")
    second = support.Process([sys.executable, "manage.py", "serve", "--only", "beat"], env, "beat-two")
    try:
        support.wait_until(lambda: beats(first, second), 60, message="a beat")
        time.sleep(3)
        assert len(beats(first, second)) == 1
        assert {name for server in (first, second) for name in children_of(server)} == {"beat"}
    finally:
        first.stop(timeout=30)
        second.stop(timeout=30)
