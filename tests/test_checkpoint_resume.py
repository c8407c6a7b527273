"""Nothing lost on a crash: checkpoints, resume, fallback, clean shutdown. Real processes."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from island.checkpoint import CURRENT, PREVIOUS, read_checkpoint
from island.runlog import read_jsonl
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
    log = read_jsonl(run / "log.jsonl")
    gen = saved_generation + 1
    resumed = [r for r in log if r["generation"] == gen]
    # 8 episodes per generation, plus a champion round every 5th generation: 10 episodes
    # for the mean and the best recent sample, and from the second round the champion.
    champion_round = 0 if gen % 5 else 10 * (2 if gen == 5 else 3)
    assert resumed[-1]["evaluations"] == saved_evaluations + 8 + champion_round
    # Generations logged after the checkpoint were cut and run again: each appears once.
    assert [r["generation"] for r in log] == list(range(1, done + 4))
    events = read_jsonl(run / "events.jsonl")
    assert "resumed" in [e["event"] for e in events]
    # A run that had not finished takes a new cap, and says so where it keeps its settings.
    (changed,) = [e for e in events if e["event"] == "settings_changed"]
    assert changed["changes"] == [f"max_generations 0 -> {done + 3}"]
    assert f"max_generations = {done + 3}" in (run / "config.toml").read_text()


def test_sigterm_exits_zero_with_a_fresh_checkpoint(tmp_path, procs):
    run = tmp_path / "run"
    procs.append(proc := start_node(run, "--env", "LunarLander-v3"))
    wait_for(lambda: len(generations(run)) >= 1, "a first generation", timeout=90)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, proc.stderr.read()
    state = read_checkpoint(run / CURRENT)
    assert state["island"]["generation"] == generations(run)[-1]
    stopped = [e for e in read_jsonl(run / "events.jsonl") if e["event"] == "stopped"]
    assert stopped and stopped[-1]["reason"] == "signal SIGTERM"


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
    events = read_jsonl(run / "events.jsonl")
    assert any(e["event"] == "checkpoint_rejected" for e in events)
    assert generations(run)[-1] == previous + 2


def test_a_checkpoint_of_format_1_still_resumes_even_saved_mid_generation(tmp_path, monkeypatch):
    """Runs started before the explicit checkpoint document pickled the whole state, once
    also between `ask` and `tell`; they resume (the strategy rebuilt around the best)."""
    import hashlib
    import pickle
    from dataclasses import dataclass, field

    import numpy as np

    import island.node
    from island.checkpoint import LEGACY, LEGACY_MAGIC
    from island.cmaes_island import Island
    from island.state import load_latest

    @dataclass
    class Counters:  # as island/node.py defined it in format 1
        received: int = 3
        by_origin: dict = field(default_factory=dict)

    Counters.__module__, Counters.__qualname__ = "island.node", "Counters"
    monkeypatch.setattr(island.node, "Counters", Counters, raising=False)
    old = Island(np.zeros(6), 0.5, popsize=6, seed=1)
    for _ in range(3):
        X = old.ask().X
        old.tell(X, -np.sum(X**2, axis=1))
    old.ask()  # abandoned, as format 1 saved it on SIGTERM
    progress = old.__dict__.pop("progress")  # format 1 kept these on the island itself
    arrivals = old.__dict__.pop("arrivals")  # format 1 kept the migrants' cap on the island
    old.__dict__.update(evaluations=18, _pending=0, stagnation=progress.patience,
                        _max_injected=arrivals.max_injected_option,
                        _since_improvement=progress.since_improvement,
                        _best_median=progress.best_median, _since_restart=progress.since_restart)
    del old.__dict__["_untold"]
    payload = pickle.dumps({"version": 1, "fingerprint": "f", "island": old,
                            "rng": np.random.default_rng(2).bit_generator.state,
                            "evaluations": 18, "wall": 1.5, "counters": Counters()})
    (tmp_path / LEGACY[0]).write_bytes(LEGACY_MAGIC + hashlib.sha256(payload).digest() + payload)
    monkeypatch.delattr(island.node, "Counters")

    state, problems = load_latest(tmp_path)
    assert not problems and state.generation == 3 and state.migration.received == 3
    assert state.island.numerical_resets == 1  # the abandoned ask could not be asked again
    assert state.island.progress.patience == 60 and state.island.progress.since_restart == 0
    X = state.island.ask().X
    state.island.tell(X, -np.sum(X**2, axis=1))
    assert state.island.generation == 4
