"""Shared helpers: the installed console scripts, run as real processes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from island.runlog import read_jsonl

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


def wait_for(condition, what: str, timeout: float = 60.0, interval: float = 0.1):
    """Poll until `condition()` is truthy and return it; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def node_address(run_dir: Path, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> str:
    """The address a node started with `--bind ...:0` advertises (its `node_started` event)."""

    def started() -> str:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{run_dir.name} exited early: {proc.stderr.read() if proc.stderr else ''}")
        events = [e for e in read_jsonl(run_dir / "events.jsonl") if e["event"] == "node_started"]
        return events[-1]["address"] if events else ""

    return wait_for(started, f"{run_dir.name} to start", timeout)
