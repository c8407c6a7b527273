"""A dropped connection to a neighbour is a hint to probe it now, never a verdict (issue 41).

A crashed process's kernel closes its TCP connections, so its neighbours' DEALERs
see the drop at once (HyParView's own failure detector); the neighbour is then
probed as at its turn, and only silence to that probe accuses it.
"""

from __future__ import annotations

import json
import signal
import socket

from gossip.membership import Membership
from tests.rogue import Scene, deaths, wait_for
from tests.test_gossip_membership import addr
from tests.test_gossip_suspicion import tick, with_eight_neighbours

PERIOD = 1.0  # make()'s default protocol period


def suspected_at(hint: bool) -> tuple[float, Membership]:
    """Simulated seconds until node 1 suspects n2, silent from 0.05 s (a crash), its other
    neighbours answering; with `hint`, node 1 saw its connection to n2 drop then."""
    m = with_eight_neighbours()
    silent = addr(2)
    others = {addr(i) for i in range(3, 10)}
    tick(m, 0.0, others | {silent})
    now = 0.05
    if hint:
        sends = m.connection_dropped(silent, now)
        assert [kind for kind, to, _ in sends if to == silent] == ["ping"]
    while now < 60.0:
        now += 0.05
        tick(m, now, others)
        member = m.member(silent)
        if member is None or member.suspicion is not None:
            return now, m
    raise AssertionError("never suspected")


def test_a_dropped_connection_gets_a_silent_neighbour_suspected_before_its_probe_turn():
    hinted, m = suspected_at(hint=True)
    unhinted, _ = suspected_at(hint=False)
    assert hinted <= 0.05 + PERIOD + 0.05  # the hint's probe is judged one period after it
    assert unhinted > hinted + PERIOD  # its turn in the round-robin came later
    assert all(addr(i) in m.live() for i in range(3, 10))  # only the silent one


def test_a_neighbour_that_answers_the_hint_probe_stays_unsuspected_and_hints_are_rate_limited():
    m = with_eight_neighbours()
    everyone = {addr(i) for i in range(2, 10)}
    tick(m, 0.0, everyone)
    flapping = next(a for a in everyone if a != m.local.probes.current.target)
    pings = 0
    now = 0.0
    while now < 10.0:
        now += 0.05
        for kind, to, body in m.connection_dropped(flapping, now):  # a drop every tick
            if kind == "ping" and to == flapping:
                pings += 1
                m.on_reply("ack", to, "n", {"nonce": body["nonce"], "updates": []}, now)
        tick(m, now, everyone)
        assert m.member(flapping).suspicion is None
    assert 1 <= pings <= 10.0 / PERIOD + 1  # at most one hint probe a period
    assert m.connection_dropped(addr(77), now) == []  # not a neighbour: no probe


def _shut_connections_to(port: int) -> int:
    """Shut down every accepted TCP connection to `port` in this process (a flapping link:
    the node there stays live and its peers' DEALERs reconnect); returns how many."""
    shut = 0
    for fd in range(3, 1024):
        try:
            sock = socket.socket(fileno=fd)
        except OSError:
            continue
        try:
            if (sock.family == socket.AF_INET and sock.type == socket.SOCK_STREAM
                    and sock.getsockname()[1] == port and sock.getpeername()):
                sock.shutdown(socket.SHUT_RDWR)
                shut += 1
        except OSError:
            pass  # a listener (no peer) or not a socket of ours
        finally:
            sock.detach()
    return shut


def test_a_live_neighbour_whose_connection_flaps_is_never_declared_dead():
    with Scene() as scene:
        victim, honest = scene.pair()
        port = int(honest.address.rsplit(":", 1)[1])
        seen: list = []
        for _ in range(8):
            wait_for(lambda: _shut_connections_to(port) > 0, "a connection to honest to cut")
            wait_for(lambda: victim.counters().get("connections_dropped", 0) > 0,
                     "victim to see its connection drop")
            wait_for(lambda: honest.address in victim.peers(), "honest to stay live")
        assert honest.address not in deaths(victim, seen)
        assert honest.address in victim.peers()
        assert victim.counters()["connections_dropped"] >= 1


def test_a_sigkilled_neighbour_is_probed_on_its_dropped_connection_and_dropped():
    with Scene() as scene:
        member = scene.member("doomed", "tcp://127.0.0.1:0", "--heartbeat-interval", "0.5",
                              "--dead-after", "2.5")
        doomed = json.loads(member.stdout.readline())["address"]
        holder = scene.start("holder", seeds=[doomed], heartbeat_interval=0.5, dead_after=2.5)
        wait_for(lambda: doomed in holder.peers(), "doomed to join holder")
        member.send_signal(signal.SIGKILL)
        member.wait(timeout=10)
        wait_for(lambda: holder.counters().get("connections_dropped", 0) >= 1,
                 "holder to see its connection to doomed drop")
        seen: list = []
        wait_for(lambda: doomed in deaths(holder, seen), "holder to declare doomed dead")
