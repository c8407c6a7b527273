"""Real island-node processes gossiping over 127.0.0.1 (ports chosen by the OS)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import msgspec
import pytest

from island.record import (
    AnyEvent,
    GenerationRecord,
    StatusReply,
    read_events,
    read_generations,
)
from tests.conftest import run_cli, script, wait_for

FAST_GOSSIP = ["--heartbeat-interval", "0.2", "--dead-after", "1.5"]


class NodeProcess:
    """One island-node process and its run directory."""

    def __init__(self, root: Path, name: str, peers: list[str], *extra: str):
        self.name, self.run_dir = name, root / name
        peers_file = root / f"{name}.peers"
        peers_file.write_text("".join(f"{p}\n" for p in peers))
        self.args = [
            script("island-node"), "--bind", "tcp://127.0.0.1:0", "--peers", str(peers_file),
            "--run-dir", str(self.run_dir), "--node-id", name, "--workers", "1",
            "--popsize", "8", "--episodes", "1", "--interval", "1", "--quiet",
            "--final-episodes", "0", "--max-time", "120", "--target", "none", *FAST_GOSSIP,
            "--max-steps", "50",  # the nodes share the cores: keep generations short
            *extra,
        ]
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)

    @property
    def address(self) -> str:
        starts = [e for e in self.events() if e.event == "node_started"]
        return starts[-1].address if starts else ""

    def events(self) -> list[AnyEvent]:
        return read_events(self.run_dir / "events.jsonl")

    def log(self) -> list[GenerationRecord]:
        return read_generations(self.run_dir / "log.jsonl")

    def generation(self) -> int:
        log = self.log()
        return log[-1].generation if log else 0

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _peers_of(node: NodeProcess) -> set[str]:
    joined = {e.peer for e in node.events() if e.event == "peer_joined"}
    return joined


@pytest.fixture
def nodes():
    started: list[NodeProcess] = []
    yield started
    for node in started:
        node.stop(signal.SIGKILL)


def test_line_of_three_learns_each_other_shares_elites_and_survives_a_death(tmp_path, nodes):
    c = NodeProcess(tmp_path, "c", [])
    nodes.append(c)
    wait_for(lambda: c.address, "c to start")
    b = NodeProcess(tmp_path, "b", [c.address])
    nodes.append(b)
    wait_for(lambda: b.address, "b to start")
    a = NodeProcess(tmp_path, "a", [b.address])
    nodes.append(a)
    wait_for(lambda: a.address, "a to start")
    addresses = {n.name: n.address for n in (a, b, c)}

    # Peer exchange: a was told only of b, c of nobody; all learn all.
    for node in (a, b, c):
        others = {addr for name, addr in addresses.items() if name != node.name}
        wait_for(lambda node=node, others=others: others <= _peers_of(node),
                 f"{node.name} to learn {others}")

    # Its counters are readable while it runs.
    reply = run_cli("island-node", "status", a.address, timeout=30)
    assert reply.returncode == 0, reply.stderr
    status = msgspec.json.decode(reply.stdout, type=StatusReply)
    assert status.node == "a" and len(status.peers) == 2
    assert status.status.kind == "weights+rules"

    # An elite from a reaches c (two hops away in the seeding) and is injected there.
    wait_for(lambda: any(e.event == "migrant_injected" and e.origin == "a"
                         for e in c.events()), "an elite of a to be injected at c")
    wait_for(lambda: any(e.event == "migrant_evaluated" and e.origin == "c"
                         for e in a.events()), "a to score a migrant from c itself")
    # And a's validated champion, offered for its rule, is grafted onto c's own weights.
    wait_for(lambda: any(e.event == "migrant_injected" and e.origin == "a"
                         and e.role == "rule" and e.outcome == "grafted"
                         for e in c.events()), "a's champion rule to be grafted at c")

    # Kill b: the others mark it dead and keep evolving.
    b.stop(signal.SIGKILL)
    for node in (a, c):
        wait_for(lambda node=node: any(e.event == "peer_dead" and e.peer == addresses["b"]
                                       for e in node.events()), f"{node.name} to mark b dead")
    before = {n.name: n.generation() for n in (a, c)}
    wait_for(lambda: all(n.generation() >= before[n.name] + 5 for n in (a, c)),
             "a and c to keep evolving without b")

    # Restart b with the same run directory: it resumes and rejoins.
    b_generation = b.generation()
    b.start()
    wait_for(lambda: any(e.event == "resumed" for e in b.events()), "b to resume")
    wait_for(lambda: b.generation() > b_generation, "b to continue from its checkpoint")
    for node in (a, c):
        wait_for(lambda node=node: sum(1 for e in node.events() if e.event in
                                       ("peer_returned", "peer_joined")
                                       and e.peer == b.address) >= 1,
                 f"{node.name} to take b back")
    wait_for(lambda: any(e.event == "migrant_injected" and e.time > time.time() - 30
                         and e.origin in ("a", "c") for e in b.events()),
             "b to receive migrants again")
    for node in (a, b, c):
        node.stop()
        assert node.proc.returncode == 0, node.proc.stderr.read()


def test_islands_on_different_environments_exchange_rules_not_weights(tmp_path, nodes):
    cart = NodeProcess(tmp_path, "cart", [], "--env", "CartPole-v1")
    nodes.append(cart)
    wait_for(lambda: cart.address, "cart to start")
    acro = NodeProcess(tmp_path, "acro", [cart.address], "--env", "Acrobot-v1",
                       "--max-steps", "100")
    nodes.append(acro)
    oja = NodeProcess(tmp_path, "oja", [cart.address], "--env", "CartPole-v1",
                      "--rule-family", "oja")
    nodes.append(oja)
    for node in (cart, acro):
        wait_for(lambda node=node: len([e for e in node.events()
                                        if e.event == "migrant_injected"
                                        and e.origin in ("cart", "acro")]) >= 3,
                 f"{node.name} to take in rules from the other environment")
    wait_for(lambda: any(e.event == "migrant_dropped" and e.origin == "oja"
                         for e in cart.events()), "cart to drop the oja island's migrants")
    for node in (cart, acro, oja):
        node.stop()
    cross = [e for node in (cart, acro) for e in node.events()
             if e.event == "migrant_injected" and e.origin != node.name
             and e.origin in ("cart", "acro")]
    assert cross and all(e.outcome == "grafted" for e in cross)
    assert all(e.reason.startswith("rule family") for e in cart.events()
               if e.event == "migrant_dropped" and e.origin == "oja")
