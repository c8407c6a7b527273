"""Thirty real gossip processes on 127.0.0.1: five killed, five paused, all agree again.

Each process is `python -m gossip` (the node's gossip layer without an island,
so thirty fit on two cores); membership is read the way the dashboard reads
it, through status queries.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time

import pytest

from gossip import query_status
from tests.conftest import wait_for

NODES, KILLED, PAUSED = 30, 5, 5
ARGS = ["--bind", "tcp://127.0.0.1:0", "--heartbeat-interval", "0.2", "--dead-after", "1.0",
        "--max-time", "150"]


class Member:
    def __init__(self, name: str, peers: list[str], tmp_path) -> None:
        peers_file = tmp_path / f"{name}.peers"
        peers_file.write_text("".join(f"{p}\n" for p in peers))
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gossip", "--node-id", name, "--peers", str(peers_file),
             *ARGS], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.address = ""

    def started(self) -> str:
        if not self.address:
            line = self.proc.stdout.readline()
            assert line, f"{self.name} exited: {self.proc.stderr.read()}"
            self.address = json.loads(line)["address"]
        return self.address

    def peers(self) -> set[str] | None:
        try:
            return set(query_status(self.address, timeout=3.0)["peers"])
        except TimeoutError:
            return None


def connected(members: list[Member], views: dict[str, set[str]]) -> bool:
    """The active views of `members` link all of them (and only them) into one graph."""
    wanted = {m.address for m in members}
    start = members[0].address
    seen, todo = {start}, [start]
    while todo:
        for peer in views.get(todo.pop(), set()) & wanted:
            if peer not in seen:
                seen.add(peer)
                todo.append(peer)
    return seen == wanted


@pytest.fixture
def members():
    started: list[Member] = []
    yield started
    for m in started:
        if m.proc.poll() is None:
            m.proc.send_signal(signal.SIGCONT)
            m.proc.kill()
        m.proc.wait(timeout=10)
        m.proc.stdout.close()
        m.proc.stderr.close()


def test_thirty_nodes_agree_after_five_are_killed_and_five_paused(tmp_path, members):
    rng = random.Random(13)
    first = Member("g00", [], tmp_path)
    members.append(first)
    first.started()
    for i in range(1, NODES):  # each knows one earlier node, as a peers file would say
        seed = rng.choice(members).address
        members.append(Member(f"g{i:02d}", [seed], tmp_path))
        members[-1].started()

    def views(group: list[Member]) -> dict[str, set[str]]:
        return {m.address: m.peers() or set() for m in group}

    def show(group: list[Member]) -> str:
        names = {m.address: m.name for m in members}
        return "; ".join(f"{m.name}: {sorted(names.get(p, p) for p in m.peers() or ())}"
                         for m in group)

    wait_for(lambda: connected(members, views(members)), "thirty nodes to form one network", 60)
    # A node that joined a moment ago knows only its seed's sample; a few shuffles (every
    # 5 periods of 0.2 s) fill its passive view, the addresses it rejoins through when its
    # neighbours fail. Failing all of a newcomer's neighbours at once could strand it.
    time.sleep(3.0)
    doomed = rng.sample(members[1:], KILLED + PAUSED)
    killed, paused = doomed[:KILLED], doomed[KILLED:]
    gone = {m.address for m in doomed}
    survivors = [m for m in members if m not in doomed]
    t0 = time.monotonic()
    for m in killed:
        m.proc.kill()
    for m in paused:
        m.proc.send_signal(signal.SIGSTOP)

    def agreed() -> bool:
        v = views(survivors)
        return all(not (peers & gone) and peers for peers in v.values()) and connected(
            survivors, v)

    try:
        wait_for(agreed, "the survivors to drop the ten and stay connected", 90)
    except BaseException:
        print("views:", show(survivors), "gone:", sorted(m.name for m in doomed))
        raise
    settled = time.monotonic() - t0
    for m in paused:
        m.proc.send_signal(signal.SIGCONT)
    # A resumed member was declared dead by its neighbours but still holds them: it sees its
    # own stall, asks each to take it in again, and drops those that refuse.
    back = survivors + paused
    dead = {m.address for m in killed}

    def rejoined() -> bool:
        v = views(back)
        return all(not (peers & dead) and peers for peers in v.values()) and connected(back, v)

    try:
        wait_for(rejoined, "the paused five to rejoin and all 25 to form one network", 60)
    except BaseException:
        print("views:", show(back))
        raise
    print(f"\n30 nodes: 5 killed and 5 paused were gone from all 20 survivors' views "
          f"within {settled:.1f} s")
    for m in members:
        if m in killed:
            continue
        m.proc.terminate()
    for m in members:
        if m not in killed:
            assert m.proc.wait(timeout=20) == 0, m.proc.stderr.read()
