"""A lying peer cannot lower a node's best nor take over its population."""

from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest

from genome import GenomeSpec, initial_vector
from gossip import Gossip, GossipConfig, Migrant
from island.record import MigrantArrived, MigrantEvaluated, of_kind, read_events, read_generations
from tests.conftest import node_address, script


def test_poisoned_migrants_are_rescored_and_capped(tmp_path):
    run = tmp_path / "victim"
    proc = subprocess.Popen(
        [script("island-node"), "--bind", "tcp://127.0.0.1:0", "--run-dir", str(run),
         "--node-id", "victim", "--workers", "1", "--popsize", "8", "--episodes", "1",
         "--quiet", "--final-episodes", "0", "--max-time", "120", "--target", "none",
         "--heartbeat-interval", "0.2", "--dead-after", "1.5",
         "--hidden", "16,16"],  # the liar's spec: its migrants are injected whole
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    liar = None
    try:
        address = node_address(run, proc)
        deadline = time.monotonic() + 60
        peers = tmp_path / "liar.peers"
        peers.write_text(address + "\n")
        liar = Gossip(GossipConfig(bind="tcp://127.0.0.1:0", peers=str(peers), fanout=1,
                                   heartbeat_interval=0.2, dead_after=1.5), "liar")
        liar.start()
        spec = GenomeSpec("weights+rules", (4, 16, 16, 2))
        bad = initial_vector(spec)
        bad[: spec.n_weights] = 5.0  # saturated: always the same action, falls at once
        rng = np.random.default_rng(0)
        round_ = 0
        while time.monotonic() < deadline + 60:
            round_ += 1  # distinct genomes each time: identical ones are de-duplicated en route
            liar.emit([Migrant("liar", "liar", spec, bad + 1e-3 * rng.standard_normal(spec.dim),
                               1e12, round_, "elite", "CartPole-v1") for _ in range(8)])
            evaluated = [e for e in of_kind(read_events(run / "events.jsonl"), MigrantEvaluated)
                         if e.origin == "liar"]
            if len(evaluated) >= 10:
                break
            time.sleep(0.3)
        else:
            pytest.fail("the victim never scored the liar's migrants")
    finally:
        if liar is not None:
            liar.close()
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read()

    assert all(e.claimed == 1e12 and e.measured < 50 and not e.became_best
               for e in evaluated)
    log = read_generations(run / "log.jsonl")
    assert max(r.best for r in log) < 1e3  # the claim never became the best
    injected = np.diff([0] + [r.injected for r in log])
    assert injected.max() <= 8 // 4  # cap: a quarter of the population at most
    drops = [e for e in of_kind(read_events(run / "events.jsonl"), MigrantArrived,
                                   "migrant_dropped") if e.reason == "injection cap"]
    assert drops  # the flood hit the cap
