"""A stranger with no key holds more connections than the node has file descriptors.

The node runs with a file limit of 1,024 (the usual limit under ssh and Slurm,
set here as a hard limit so the node cannot raise it); the stranger keeps 1,200
stalled TCP connections and 200 idle ZeroMQ connections open and sends 100 MB
frames (issue 41), from 127.0.0.2 while the status client is 127.0.0.1. The
node must not die of EMFILE, must go on evolving, and must answer status. How
fast it evolves meanwhile is measured by benchmarks/connection_exhaustion.py.
"""

from __future__ import annotations

import resource
import signal
import subprocess
import time

from gossip import query_status
from tests.conftest import node_address, script
from tests.rogue import Exhaustion
from tests.test_hostile_input import _generation

FILE_LIMIT = 1024
STALLED, IDLE, OVERSIZED_MB = 1200, 200, 100
ATTACK_S = 20.0


def limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


def start_node(run, node_id: str = "victim") -> subprocess.Popen:
    return subprocess.Popen(
        [script("island-node"), "--bind", "tcp://127.0.0.1:0", "--run-dir", str(run),
         "--node-id", node_id, "--workers", "1", "--popsize", "8", "--episodes", "1",
         "--quiet", "--final-episodes", "0", "--max-time", "300", "--target", "none"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=limit_files)


def attack(address: str, seconds: float, on_round=None, held: bool = True) -> tuple[int, int]:
    """Hold the connections for `seconds` (or, not `held`, only watch: the benchmark's rest
    rounds), asking status twice a second: (answered, asked)."""
    stranger = Exhaustion(address, STALLED, IDLE) if held else None
    answered = asked = 0
    try:
        end = time.monotonic() + seconds
        sent_oversized = 0
        while time.monotonic() < end:
            if stranger is not None:
                stranger.keep()
                if sent_oversized < 3:
                    stranger.oversized(OVERSIZED_MB)
                    sent_oversized += 1
            asked += 1
            try:
                query_status(address, timeout=1.0)
                answered += 1
            except TimeoutError:
                pass
            if on_round is not None:
                on_round()
            time.sleep(0.5)
    finally:
        if stranger is not None:
            stranger.close()
    return answered, asked


def test_a_stranger_holding_more_connections_than_file_descriptors_crashes_nothing(tmp_path):
    run = tmp_path / "victim"
    node = start_node(run)
    try:
        address = node_address(run, node)
        deadline = time.monotonic() + 120
        while _generation(run) < 1 and time.monotonic() < deadline:
            assert node.poll() is None, node.stderr.read()
            time.sleep(0.2)
        before = _generation(run)
        answered, asked = attack(address, ATTACK_S, lambda: node.poll() is None or None)
        assert node.poll() is None, node.stderr.read()[-2000:]
        counters = query_status(address, timeout=5.0)["counters"]
        assert counters["connections_refused"] > 0
        assert answered > 0, (answered, asked)
        time.sleep(3)
        assert _generation(run) > before  # it went on evolving
        query_status(address, timeout=5.0)  # and answers once the stranger is gone
        node.send_signal(signal.SIGTERM)
        assert node.wait(timeout=60) == 0, node.stderr.read()[-2000:]
        print(f"status answered {answered}/{asked}")
    finally:
        if node.poll() is None:
            node.kill()
            node.wait(timeout=30)
