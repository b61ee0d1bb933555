"""`moodline analyze --ray`: on real local Ray clusters (one the command starts itself, one
started as a user would with `ray start --head`, two CPUs), the results are those of a local
run, bad files included, and a worker killed mid-task costs nothing: its file is analysed
again, and counted once."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from test_archive import make_batch
from test_jobs import folder_contents

MOODLINE = str(Path(sys.executable).with_name("moodline"))


def analyze(*args, model: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([MOODLINE, "analyze", *map(str, args), "--model", str(model)],
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=240, env=env)


@pytest.fixture
def local_only(tmp_path_factory):
    """The environment of a command that starts its own local Ray cluster: a home of the test's
    own, and a long TMPDIR (as on macOS or many CI runners), where Ray's own default session
    folder would put its sockets past the 107-byte limit of a Unix socket's path."""
    long_tmp = tmp_path_factory.mktemp("a-temporary-folder-with-a-long-name-as-on-macos-or-a-ci-runner")
    env = {**os.environ, "HOME": str(tmp_path_factory.mktemp("home")), "TMPDIR": str(long_tmp)}
    for name in ("RAY_ADDRESS", "RAY_TMPDIR"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    """A Ray cluster as a user starts one (`ray start --head`, two CPUs, on localhost): its
    address, and the environment a driver needs to join it."""
    ray = str(Path(sys.executable).with_name("ray"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Ray's token authentication, as a cluster should run: a token of its own (in a private
    # home, ~/.ray/auth_token), which a driver uses when RAY_AUTH_MODE=token (docs/archive.md).
    env = {**os.environ, "RAY_TMPDIR": str(tmp_path_factory.mktemp("ray")), "RAY_AUTH_MODE": "token",
           "HOME": str(tmp_path_factory.mktemp("home"))}
    env.pop("RAY_ADDRESS", None)
    token = subprocess.run([ray, "get-auth-token", "--generate"], capture_output=True, text=True, timeout=60, env=env)
    assert token.returncode == 0, token.stdout + token.stderr
    started = subprocess.run([ray, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                              "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats"],
                             capture_output=True, text=True, timeout=120, env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield f"127.0.0.1:{port}", env
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True, timeout=60, env=env)


def same_run(local: subprocess.CompletedProcess, cluster: subprocess.CompletedProcess, out_local: Path,
             out_cluster: Path) -> None:
    assert cluster.returncode == local.returncode
    assert cluster.stdout == local.stdout
    assert cluster.stderr.decode().replace(str(out_cluster), "OUT") == local.stderr.decode().replace(str(out_local), "OUT")
    assert folder_contents(out_cluster) == folder_contents(out_local)


def test_a_ray_cluster_gives_what_a_local_run_gives(tmp_path, model_path, local_only, monkeypatch):
    batch = make_batch(tmp_path / "in", 6, 3.0)
    monkeypatch.chdir(tmp_path)  # relative paths: the workers must read them, messages must name them as given
    local = analyze("in", "--out", "local", "--segments", "--jobs", "1", model=model_path)
    sessions_before = set(Path("/tmp").glob("mlray-*"))
    cluster = analyze("in", "--out", "cluster", "--segments", "--ray", model=model_path, env=local_only)
    assert local.returncode == 2 and b"in/cut.wav: truncated" in local.stderr
    same_run(local, cluster, tmp_path / "local", tmp_path / "cluster")
    assert batch.is_dir()
    assert set(Path("/tmp").glob("mlray-*")) <= sessions_before  # the cluster's short private folder is gone


def ray_workers_running(name: str) -> list[int]:
    ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in ps.splitlines() if f"ray::{name}" in line]


def test_a_worker_killed_mid_task_is_retried_and_nothing_is_lost_or_counted_twice(tmp_path, model_path, head):
    batch = make_batch(tmp_path / "in", 16, 20.0)
    out_local, out_cluster = tmp_path / "local", tmp_path / "cluster"
    local = analyze(batch, "--out", out_local, "--jobs", "1", model=model_path)
    killed: list[int] = []

    def kill_one_busy_worker() -> None:
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            for pid in ray_workers_running("analyse_one"):
                try:
                    os.kill(pid, 9)
                    killed.append(pid)
                except ProcessLookupError:
                    continue
                break
            time.sleep(0.02)

    killer = threading.Thread(target=kill_one_busy_worker)
    killer.start()
    try:
        address, env = head
        cluster = analyze(batch, "--out", out_cluster, "--ray", address, model=model_path, env=env)
    finally:
        killer.join()
    assert killed, "no Ray worker was seen analysing a file"
    same_run(local, cluster, out_local, out_cluster)
    rows = (out_cluster / "summary.csv").read_text().splitlines()
    assert len(rows) == 1 + 16 and len(set(rows)) == len(rows)


def test_an_address_with_no_cluster_is_one_line(tmp_path, model_path):
    clip = make_batch(tmp_path / "in", 1, 1.0) / "clip000.wav"
    result = analyze(clip, "--ray", "127.0.0.1:9", model=model_path)
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 2 and len(lines) == 1, lines
    assert lines[0].startswith("moodline: Ray: cannot connect to 127.0.0.1:9 (")
