"""A victim island under the floods of issue 13, measured with real processes on 127.0.0.1.

Three `island-node` processes (victim, two honest peers; CartPole, one worker)
with the default gossip settings, and a rogue in this process (tests/rogue.py):
- baseline (`--phase` s): no attack, before, between and after the attacks
  (the machine is shared: each attack is compared with the baselines beside it);
- peer-exchange flood: the rogue joins the victim as a proven member, then
  sends 20 rounds a second, each a shuffle of 64 and a gossip of 32 fake
  addresses (5,000 in rotation) and a join claiming one of them;
- forged claims: 1,000 messages a second from an unproven connection, each
  claiming a fake address and a random or an honest node's id (joins, pings,
  gossip, migrants).
Every second a status query (1 s timeout) asks the victim; its open sockets
are read from /proc. Figures per phase: status answers, generations per
minute, migrants the victim sent to its honest peers, its connections, deaths
of the victim seen by its peers, and fake addresses in any honest active view.

    .venv/bin/python benchmarks/gossip_flood.py            # about 3 minutes
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gossip import query_status  # noqa: E402
from gossip.events import MigrantSent, PeerChanged  # noqa: E402
from gossip.messages import GOSSIP, JOIN, MIGRANTS, PING, SHUFFLE  # noqa: E402
from gossip.migrant import migrant_to_map  # noqa: E402
from island.record import (  # noqa: E402
    GenerationRecord,
    NodeStarted,
    StatusReply,
    convert,
    of_kind,
    read_events,
    read_generations,
)
from tests.rogue import Rogue  # noqa: E402

BIN = Path(sys.executable).parent


def start_node(root: Path, name: str, seeds: list[str]) -> subprocess.Popen:
    peers = root / f"{name}.peers"
    peers.write_text("".join(f"{s}\n" for s in seeds))
    return subprocess.Popen(
        [str(BIN / "island-node"), "--bind", "tcp://127.0.0.1:0", "--run-dir", str(root / name),
         "--node-id", name, "--peers", str(peers), "--workers", "1", "--popsize", "8",
         "--episodes", "1", "--quiet", "--final-episodes", "0", "--max-time", "900",
         "--target", "none",
         "--interval", "1", "--env", "CartPole-v1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def address_of(root: Path, name: str, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        starts = of_kind(read_events(root / name / "events.jsonl"), NodeStarted)
        if starts:
            return starts[-1].address
        time.sleep(0.2)
    raise TimeoutError(f"{name} did not start")


def status_of(address: str, timeout: float = 2.0) -> StatusReply:
    """A node's status reply (TimeoutError when it does not answer)."""
    return convert(query_status(address, timeout=timeout), StatusReply, address)


def fake(i: int) -> str:
    return f"tcp://192.0.2.{1 + i % 250}:{2000 + i // 250}"


class Phase:
    """What one phase measured."""

    def __init__(self, name: str) -> None:
        self.name, self.queries, self.answered = name, 0, 0
        self.max_connections = self.max_fds = 0
        self.start = self.end = 0.0
        self.generations = 0
        self.gossip_cpu = 0.0  # seconds of the victim's gossip thread during the phase

    def probe(self, victim: str, pid: int) -> None:
        self.queries += 1
        try:
            reply = status_of(victim, timeout=1.0)
            self.answered += 1
            self.max_connections = max(self.max_connections,
                                       reply.counters.get("connections_open", 0))
        except TimeoutError:
            pass
        with contextlib.suppress(OSError):
            self.max_fds = max(self.max_fds, len(os.listdir(f"/proc/{pid}/fd")))


def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="gossip-flood-"))
    procs = {"victim": start_node(root, "victim", [])}
    victim = address_of(root, "victim")
    for name in ("honest1", "honest2"):
        procs[name] = start_node(root, name, [victim])
    honest = {name: address_of(root, name) for name in ("honest1", "honest2")}
    rng = random.Random(1)
    rogue = forger = None
    phases: list[Phase] = []
    try:
        time.sleep(args.settle)
        rogue = Rogue(victim, node_id="rogue")
        forger = Rogue(victim, node_id="forger")
        counter = itertools.count()
        wire = migrant_to_map(_elite())
        # Baselines between the attacks: the machine is shared, so each attack is compared
        # with the quiet phases on either side of it.
        for name in ("baseline", "peer-exchange flood", "baseline", "forged claims",
                     "baseline"):
            phase = Phase(name)
            phase.start = time.time()
            log = read_generations(root / "victim" / "log.jsonl")
            first, cpu0 = len(log), _gossip_cpu(log)
            if name == "peer-exchange flood" and not rogue.join():
                print("the rogue could not join the victim")
            deadline = time.monotonic() + args.phase
            next_probe = time.monotonic()
            while time.monotonic() < deadline:
                tick = time.monotonic()
                if name == "peer-exchange flood":
                    for _ in range(20):
                        batch = [fake(next(counter) % 5000) for _ in range(64)]
                        rogue.send(SHUFFLE, {"peers": [[a, "fake"] for a in batch]})
                        rogue.send(GOSSIP, {"updates": [["alive", a, "fake", 1]
                                                        for a in batch[:32]]})
                        rogue.send(JOIN, {"neighbours": 0, "incarnation": 1, "replace": False},
                                   addr=batch[0], sender="fake")
                elif name == "forged claims":
                    for i in range(1000):
                        claim = fake(5000 + next(counter) % 50_000)
                        sender = rng.choice(["honest1", "honest2", f"f{i}"])
                        kind = (JOIN, PING, GOSSIP, MIGRANTS)[i % 4]
                        body = {JOIN: {"neighbours": 0, "incarnation": 1, "replace": False},
                                PING: {"nonce": f"n{i}", "updates": []},
                                GOSSIP: {"updates": [["dead", victim, "victim", 10**6]]},
                                MIGRANTS: {"migrants": [{**wire, "origin": sender}]}}[kind]
                        forger.send(kind, body, sender=sender, addr=claim)
                rogue.pump(0.0)
                if time.monotonic() >= next_probe:
                    phase.probe(victim, procs["victim"].pid)
                    next_probe += 1.0
                time.sleep(max(0.0, tick + 1.0 - time.monotonic()) if name != "baseline"
                           else 0.05)
                rogue.pump(0.0)
            phase.end = time.time()
            log = read_generations(root / "victim" / "log.jsonl")
            phase.generations = len(log) - first
            phase.gossip_cpu = _gossip_cpu(log) - cpu0
            phases.append(phase)
        report(root, phases, honest, victim)
    finally:
        for r in (rogue, forger):
            if r is not None:
                r.close()
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(timeout=60)


def _gossip_cpu(log: list[GenerationRecord]) -> float:
    return log[-1].cpu.get("gossip", 0.0) if log else 0.0


def _elite():
    import numpy as np

    from genome import GenomeSpec
    from gossip import Migrant

    spec = GenomeSpec("weights+rules", (4, 16, 16, 2))
    return Migrant("x", "x", spec, np.zeros(spec.dim), 500.0, 1, "elite", "CartPole-v1")


def report(root: Path, phases: list[Phase], honest: dict[str, str], victim: str) -> None:
    sends = of_kind(read_events(root / "victim" / "events.jsonl"), MigrantSent, "migrant_sent")
    fakes = {fake(i) for i in range(55_000)}
    rates = [60 * p.generations / (p.end - p.start) for p in phases]
    print(f"{'phase':<22} {'status':>9} {'gen/min':>8} {'vs base':>8} {'migr->honest':>12} "
          f"{'conns max':>9} {'fds max':>7} {'gossip cpu':>10}")
    for i, phase in enumerate(phases):
        rate = rates[i]
        near = [rates[j] for j in (i - 1, i + 1) if 0 <= j < len(phases)
                and phases[j].name == "baseline"]
        base_rate = sum(near) / len(near) if phase.name != "baseline" else rate
        sent = sum(1 for e in sends
                   if e.to in honest.values() and phase.start <= e.time < phase.end)
        print(f"{phase.name:<22} {phase.answered:>4}/{phase.queries:<4} {rate:>8.1f} "
              f"{rate / base_rate:>8.0%} {sent:>12} {phase.max_connections:>9} "
              f"{phase.max_fds:>7} {phase.gossip_cpu / (phase.end - phase.start):>10.1%}")
    deaths = sum(1 for name in honest
                 for e in of_kind(read_events(root / name / "events.jsonl"), PeerChanged,
                                  "peer_dead") if e.peer == victim)
    views = {name: set(status_of(a).peers) for name, a in honest.items()}
    views["victim"] = set(status_of(victim).peers)
    counters = status_of(victim).counters
    size = (root / "victim" / "events.jsonl").stat().st_size
    print(f"victim marked dead by its honest peers: {deaths} times")
    print("fake addresses in active views: " + ", ".join(
        f"{name} {len(v & fakes)}" for name, v in views.items()))
    print(f"victim events.jsonl: {size / 1e6:.2f} MB; counters: " + ", ".join(
        f"{k} {counters.get(k, 0)}" for k in (
            "over_budget", "rejected.unproven_sender", "rejected.spoofed_id", "dials",
            "dials_refused", "identities_proven", "peers_passive", "internal_error")))
    print(f"run directories: {root}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phase", type=float, default=30.0, help="seconds per phase")
    parser.add_argument("--settle", type=float, default=15.0, help="seconds before the baseline")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
