"""A disk that fills up under a running node: one line, exit 2, the last good files intact.

The run directory lives on a small tmpfs the test mounts (needs root; skipped
otherwise); once the node has checkpointed, the test fills the disk. Whatever
write fails next (a log line, a checkpoint, the best genome), the node stops
with one line on stderr and exit code 2, and the checkpoint and best genome it
leaves load (issue 41).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from genome.codec import decode_genome
from island.checkpoint import CURRENT, read_checkpoint
from tests.conftest import script
from tests.test_hostile_input import _generation


def _mount(where: Path) -> bool:
    where.mkdir()
    if os.geteuid() != 0:
        return False
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(where)],
                          capture_output=True)
    return made.returncode == 0


def _fill(where: Path) -> None:
    """Write until the disk refuses even 512 bytes."""
    fd = os.open(where / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 20, 4096, 512):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


def test_a_full_disk_stops_the_node_in_one_line_with_its_checkpoint_intact(tmp_path):
    disk = tmp_path / "disk"
    if not _mount(disk):
        pytest.skip("needs root to mount a small tmpfs")
    node = None
    try:
        run = disk / "run"
        node = subprocess.Popen(
            [script("island-node"), "--run-dir", str(run), "--node-id", "full",
             "--workers", "1", "--popsize", "8", "--episodes", "1", "--quiet",
             "--final-episodes", "0", "--max-time", "300", "--target", "none",
             "--checkpoint-every", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not ((run / CURRENT).exists() and _generation(run) >= 2):
            assert node.poll() is None and time.monotonic() < deadline, node.stderr.read()
            time.sleep(0.2)
        _fill(disk)
        code = node.wait(timeout=120)
        err = node.stderr.read().strip().splitlines()
        assert code == 2, err
        assert len(err) == 1 and "cannot write" in err[0] and "No space left" in err[0], err
        document = read_checkpoint(run / CURRENT)  # the last good one, complete and verified
        assert document
        best = decode_genome((run / "best.msgpack").read_bytes())
        assert best is not None
    finally:
        if node is not None and node.poll() is None:
            node.kill()
            node.wait(timeout=30)
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
