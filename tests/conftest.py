"""Shared helpers: the installed console scripts, run as real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from island.record import NodeStarted, of_kind, read_events, read_generations

BIN = Path(sys.executable).parent


def script(name: str) -> str:
    """Path of a console script installed in this virtual environment."""
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in {BIN}; run `pip install -e .`")
    return str(path)


def run_cli(name: str, *args: str, timeout: float = 240, **kwargs) -> subprocess.CompletedProcess:
    """Run a console script to completion, capturing its output."""
    return subprocess.run([script(name), *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def stop_process(proc: subprocess.Popen) -> None:
    """Leave no process behind: SIGTERM (a cluster stops its nodes), then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_cluster(experiment: Path, out: Path, timeout: float = 150) -> str:
    """`island-cluster EXPERIMENT --out OUT` to its end; its output, once it exited 0."""
    cluster = subprocess.Popen([script("island-cluster"), str(experiment), "--out", str(out),
                                "--refresh", "1"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = cluster.communicate(timeout=timeout)
    finally:
        stop_process(cluster)
    assert cluster.returncode == 0, output
    return output


def wait_for(condition, what: str, timeout: float = 60.0, interval: float = 0.1,
             explain=None):
    """Poll until `condition()` is truthy and return it; fail naming `what` after `timeout` s,
    with what `explain()` says of the state at that moment (for a failure seen once in CI)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}"
                + (f"\n{explain()}" if explain else ""))


def node_address(run_dir: Path, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> str:
    """The address a node started with `--bind ...:0` advertises (its `node_started` event)."""

    def started() -> str:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{run_dir.name} exited early: {proc.stderr.read() if proc.stderr else ''}")
        events = of_kind(read_events(run_dir / "events.jsonl"), NodeStarted)
        return events[-1].address if events else ""

    return wait_for(started, f"{run_dir.name} to start", timeout)


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _stat(pid: int | str) -> list[str]:
    """Fields of /proc/PID/stat after the command name: state, ppid, pgrp, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def group(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group `pgid`."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = _stat(entry.name)
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent that no longer reaps it."""
    try:
        state = _stat(pid)[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def generations(run_dir: Path) -> list[int]:
    """The generation of every line a node logged, in order."""
    return [r.generation for r in read_generations(run_dir / "log.jsonl")]


@pytest.fixture
def procs():
    """Processes a test starts; any still running at its end is killed."""
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
