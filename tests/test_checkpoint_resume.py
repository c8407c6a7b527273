"""Nothing lost on a crash: checkpoints, resume, fallback, clean shutdown. Real processes."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from island.checkpoint import CURRENT, PREVIOUS, read_checkpoint
from island.record import (
    CheckpointRejected,
    Resumed,
    SettingsChanged,
    Stopped,
    of_kind,
    read_events,
    read_generations,
)
from island.state import load_latest
from tests.conftest import alive, children, generations, script, wait_for

CHECKPOINT_EVERY = 3


def start_node(run_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [script("island-node"), "--run-dir", str(run_dir), "--workers", "1", "--popsize", "8",
         "--episodes", "1", "--checkpoint-every", str(CHECKPOINT_EVERY), "--quiet",
         "--final-episodes", "0", "--max-time", "120", "--target", "none", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def test_killed_node_leaves_no_worker_and_resumes_logging_each_generation_once(tmp_path, procs):
    run = tmp_path / "run"
    procs.append(first := start_node(run, "--workers", "2"))
    wait_for(lambda: len(generations(run)) >= 2 * CHECKPOINT_EVERY + 1, "a few generations",
             timeout=90)
    workers = children(first.pid)
    assert len(workers) >= 2
    first.send_signal(signal.SIGKILL)
    first.wait()
    time.sleep(1.0)  # the bound: no worker alive a second after the node died
    assert [pid for pid in workers if alive(pid)] == []
    done = generations(run)[-1]
    state, problems = load_latest(run)
    assert state is not None and not problems
    saved_generation, saved_evaluations = state.generation, state.evaluations
    assert done - saved_generation <= CHECKPOINT_EVERY  # at most checkpoint_every lost

    procs.append(second := start_node(run, "--max-generations", str(done + 3)))
    assert second.wait(timeout=120) == 0, second.stderr.read()
    log = read_generations(run / "log.jsonl")
    gen = saved_generation + 1
    resumed = [r for r in log if r.generation == gen]
    # 8 episodes per generation, plus a champion round every 5th generation: 10 episodes
    # for the mean and the best recent sample, and from the second round the champion.
    champion_round = 0 if gen % 5 else 10 * (2 if gen == 5 else 3)
    assert resumed[-1].evaluations == saved_evaluations + 8 + champion_round
    # Generations logged after the checkpoint were cut and run again: each appears once.
    assert [r.generation for r in log] == list(range(1, done + 4))
    events = read_events(run / "events.jsonl")
    assert of_kind(events, Resumed)
    # A run that had not finished takes a new cap, and says so where it keeps its settings.
    (changed,) = of_kind(events, SettingsChanged)
    assert changed.changes == [f"max_generations 0 -> {done + 3}"]
    assert f"max_generations = {done + 3}" in (run / "config.toml").read_text()


def test_sigterm_exits_zero_with_a_fresh_checkpoint(tmp_path, procs):
    run = tmp_path / "run"
    procs.append(proc := start_node(run, "--env", "LunarLander-v3"))
    wait_for(lambda: len(generations(run)) >= 1, "a first generation", timeout=90)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, proc.stderr.read()
    state = read_checkpoint(run / CURRENT)
    assert state["island"]["generation"] == generations(run)[-1]
    stopped = of_kind(read_events(run / "events.jsonl"), Stopped)
    assert stopped and stopped[-1].reason == "signal SIGTERM"


@pytest.mark.parametrize("damage", [
    lambda data: data[: len(data) // 2],  # truncated by a crash mid-write on another fs
    lambda data: data[:-10] + bytes(10),  # corrupted payload
    lambda data: b"",  # empty file
])
def test_corrupt_checkpoint_falls_back_to_the_previous_one(tmp_path, procs, damage):
    run = tmp_path / "run"
    procs.append(proc := start_node(run, "--max-generations", str(2 * CHECKPOINT_EVERY)))
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    previous = read_checkpoint(run / PREVIOUS)["island"]["generation"]
    current = run / CURRENT
    current.write_bytes(damage(current.read_bytes()))

    state, problems = load_latest(run)
    assert state.generation == previous and len(problems) == 1
    procs.append(again := start_node(run, "--max-generations", str(previous + 2)))
    assert again.wait(timeout=120) == 0
    assert "skipping bad checkpoint" in again.stderr.read()
    assert of_kind(read_events(run / "events.jsonl"), CheckpointRejected)
    assert generations(run)[-1] == previous + 2


def test_a_checkpoint_of_an_older_format_is_refused_in_one_line(tmp_path):
    """Format 1 pickled the whole node; this version does not read it, and says so plainly
    instead of starting fresh over it."""
    import hashlib

    from island.checkpoint import OLDER
    from island.state import load_latest

    payload = b"a pickle this version never unpickles"
    (tmp_path / OLDER[0]).write_bytes(b"ISLANDCK1\n" + hashlib.sha256(payload).digest() + payload)
    state, problems = load_latest(tmp_path)
    assert state is None and len(problems) == 1
    assert "older version of island-network" in problems[0] and "--fresh" in problems[0]
    assert "\n" not in problems[0]


def test_a_checkpoint_of_an_older_version_is_refused_in_one_line(tmp_path):
    """A checkpoint written by an earlier release (version 2: the island's state in its own
    hand-written shape) is named as such and never read by a fallback."""
    from island.checkpoint import save_checkpoint
    from island.state import CHECKPOINT_VERSION

    save_checkpoint(tmp_path, {"version": CHECKPOINT_VERSION - 1, "island": {"version": 1}})
    state, problems = load_latest(tmp_path)
    assert state is None and len(problems) == 1
    assert f"older version of island-network (checkpoint version {CHECKPOINT_VERSION - 1}" \
        in problems[0] and "--fresh" in problems[0] and "\n" not in problems[0]
