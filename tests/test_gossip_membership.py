"""Membership, topologies, the relay rule and config checks: the socket-free logic, in sim time."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from gossip.config import GossipConfig
from gossip.membership import HEARTBEAT, HELLO, Membership, PeerState
from gossip.relay import Relay
from gossip.topology import FullTopology, RandomTopology, RingTopology, make_topology


def addr(i: int) -> str:
    return f"tcp://10.0.0.{i}:5555"


def make(i: int, **kwargs) -> Membership:
    kwargs.setdefault("rng", random.Random(i))
    return Membership(addr(i), **kwargs)


class Line:
    """Nodes that deliver each other's planned sends at once, advancing one second per round."""

    def __init__(self, nodes: list[Membership]) -> None:
        self.nodes = {m.self_addr: m for m in nodes}
        self.now = 0.0
        self.down: set[str] = set()

    def round(self) -> None:
        self.now += 1.0
        for m in list(self.nodes.values()):
            if m.self_addr not in self.down:
                for kind, to, body in m.tick(self.now):
                    self.deliver(m.self_addr, kind, to, body)

    def deliver(self, src: str, kind: str, to: str, body: dict) -> None:
        dst = self.nodes.get(to)
        if dst is None or to in self.down:
            return
        for reply_kind, reply_to, reply in dst.on_message(kind, src, src, body, self.now):
            self.deliver(to, reply_kind, reply_to, reply)


def test_peer_is_dead_after_silence_and_returns_when_heard():
    m = make(1, dead_after=5.0)
    m.on_message(HEARTBEAT, addr(2), "n2", {"peers": []}, now=0.0)
    assert m.live() == [addr(2)]
    m.tick(4.9)
    assert m.live() == [addr(2)]
    m.tick(5.1)
    assert m.live() == [] and m.peer(addr(2)).state is PeerState.DEAD
    m.on_message("migrants", addr(2), "n2", None, now=9.0)  # any message is proof of life
    assert m.live() == [addr(2)]
    events = [(e["event"], e["peer"], e["t"]) for e in m.drain_events()]
    assert events == [
        ("peer_joined", addr(2), 0.0),
        ("peer_dead", addr(2), 5.1),
        ("peer_returned", addr(2), 9.0),
    ]
    assert m.drain_events() == []


def test_seed_is_probed_until_it_answers_and_never_forgotten():
    m = make(1, forget_after=10.0)
    m.add_seeds([addr(2)], now=0.0)
    assert m.live() == [] and m.peer(addr(2)).state is PeerState.PENDING
    for t in range(1, 30):
        sends = m.tick(float(t))
        assert (HELLO, addr(2)) in [(k, a) for k, a, _ in sends]
    assert m.peer(addr(2)) is not None


def test_hello_is_answered_with_a_heartbeat_carrying_known_peers():
    b = make(2)
    b.on_message(HEARTBEAT, addr(3), "n3", {"peers": []}, now=0.0)
    replies = b.on_message(HELLO, addr(1), "n1", {"peers": []}, now=0.0)
    assert replies == [(HEARTBEAT, addr(1), {"peers": [addr(3)]})]


def test_peer_exchange_over_a_line_converges():
    # A knows B, B knows C, C knows D: every node learns every other one.
    nodes = [make(i) for i in range(1, 5)]
    for m, nxt in zip(nodes, nodes[1:], strict=False):
        m.add_seeds([nxt.self_addr], now=0.0)
    net = Line(nodes)
    for _ in range(10):
        net.round()
        if all(len(m.live()) == 3 for m in nodes):
            break
    assert {m.self_addr: sorted(m.live()) for m in nodes} == {
        m.self_addr: sorted(a for a in net.nodes if a != m.self_addr) for m in nodes
    }
    joined = [e for m in nodes for e in m.drain_events() if e["event"] == "peer_joined"]
    assert len(joined) == 12


def test_stopped_node_is_dead_everywhere_and_returns_after_restart():
    nodes = [make(i, dead_after=3.0) for i in range(1, 5)]
    for m in nodes[1:]:
        m.add_seeds([addr(1)], now=0.0)
    net = Line(nodes)
    for _ in range(6):
        net.round()
    assert all(len(m.live()) == 3 for m in nodes)
    net.down.add(addr(4))
    for _ in range(5):
        net.round()
    assert all(addr(4) not in m.live() for m in nodes[:3])
    assert all(m.peer(addr(4)).state is PeerState.DEAD for m in nodes[:3])
    # The restarted node only knows its seed; the others probe dead peers and learn it back.
    restarted = make(4, dead_after=3.0)
    restarted.add_seeds([addr(1)], now=net.now)
    net.nodes[addr(4)] = restarted
    net.down.clear()
    for _ in range(6):
        net.round()
    assert all(len(m.live()) == 3 for m in net.nodes.values())
    events = [e["event"] for m in nodes[:3] for e in m.drain_events()]
    assert events.count("peer_returned") == 3


def test_peer_table_stays_bounded_under_a_flood_of_fake_addresses():
    m = make(1, max_peers=50, exchange_size=256)
    m.add_seeds([addr(2)], now=0.0)
    m.on_message(HEARTBEAT, addr(3), "n3", {"peers": []}, now=0.0)
    for batch in range(100):
        fakes = [f"tcp://fake-{batch}-{i}:1" for i in range(256)]
        m.on_message(HEARTBEAT, addr(4), "attacker", {"peers": fakes}, now=float(batch))
        assert len(m.known()) <= 50
    assert m.refused == 0  # fakes displaced older fakes rather than being refused
    # The seed and the peers actually heard from survive the flood.
    assert m.peer(addr(2)) is not None and m.peer(addr(2)).seed
    assert {addr(3), addr(4)} <= set(m.live())


def test_full_table_of_live_peers_refuses_new_addresses():
    m = make(1, max_peers=3)
    for i in (2, 3, 4):
        m.on_message(HEARTBEAT, addr(i), f"n{i}", {"peers": []}, now=0.0)
    m.on_message(HEARTBEAT, addr(5), "n5", {"peers": [addr(6)]}, now=0.0)
    assert sorted(m.known()) == [addr(2), addr(3), addr(4)]
    assert m.refused == 2


def test_forgotten_after_long_death_unless_seed():
    m = make(1, dead_after=2.0, forget_after=10.0)
    m.add_seeds([addr(2)], now=0.0)
    for i in (2, 3):
        m.on_message(HEARTBEAT, addr(i), f"n{i}", {"peers": []}, now=0.0)
    m.tick(3.0)
    assert m.counts() == {"pending": 0, "alive": 0, "dead": 2}
    m.tick(14.0)
    assert m.known() == [addr(2)]
    assert [e["event"] for e in m.drain_events()][-1] == "peer_forgotten"


def test_messages_per_round_do_not_depend_on_table_size_except_heartbeats():
    m = make(1, fanout=3, exchange_size=16)
    for i in range(2, 200):
        m.on_message(HEARTBEAT, f"tcp://10.0.1.{i}:5555", "n", {"peers": []}, now=0.0)
    sends = m.tick(1.0)
    with_sample = [s for s in sends if s[2]["peers"]]
    assert len(with_sample) == 3  # peer exchange goes to `fanout` peers only
    assert all(len(s[2]["peers"]) <= 16 for s in sends)
    assert sum(1 for s in sends if s[0] == HEARTBEAT) == 198  # direct failure detection


def test_own_address_never_enters_the_table():
    m = make(1)
    m.add_seeds([addr(1)], now=0.0)
    m.on_message(HEARTBEAT, addr(2), "n2", {"peers": [addr(1)]}, now=0.0)
    m.on_message(HEARTBEAT, addr(1), "n1", {"peers": []}, now=0.0)
    assert m.known() == [addr(2)]


# --- topologies ---------------------------------------------------------------------------


def test_random_topology_picks_fanout_distinct_live_peers():
    live = [addr(i) for i in range(2, 12)]
    rng = random.Random(0)
    picks = RandomTopology().choose(live + [addr(1)], addr(1), 3, rng)
    assert len(picks) == 3 == len(set(picks)) and addr(1) not in picks
    assert RandomTopology().choose(live[:2], addr(1), 3, rng) in (live[:2], live[1::-1])
    seen = {p for _ in range(200) for p in RandomTopology().choose(live, addr(1), 3, rng)}
    assert seen == set(live)  # every peer gets a turn


def test_ring_topology_follows_sorted_addresses_and_wraps():
    live = [addr(i) for i in (5, 2, 9, 7)]
    ring = RingTopology()
    assert ring.choose(live, addr(6), 2, random.Random()) == [addr(7), addr(9)]
    assert ring.choose(live, addr(9), 2, random.Random()) == [addr(2), addr(5)]
    assert ring.choose(live, addr(1), 10, random.Random()) == sorted(live)
    assert ring.choose([], addr(1), 3, random.Random()) == []


def test_full_topology_ignores_fanout():
    live = [addr(i) for i in range(2, 9)]
    assert FullTopology().choose(live, addr(1), 1, random.Random()) == sorted(live)


def test_unknown_topology_names_the_known_ones():
    assert make_topology("ring").name == "ring"
    with pytest.raises(ValueError, match="full, random, ring"):
        make_topology("star")


# --- relay rule ---------------------------------------------------------------------------


def test_relay_pushes_a_new_item_for_its_rounds_then_rests():
    relay: Relay[str] = Relay(rounds=3, max_active=8)
    assert relay.offer("k", "elite") is True
    assert relay.offer("k", "elite") is False  # a duplicate is not news
    assert [relay.due() for _ in range(4)] == [["elite"], ["elite"], ["elite"], []]
    assert relay.offer("k", "elite") is False  # still remembered after it stopped


def test_relay_with_zero_rounds_only_deduplicates():
    relay: Relay[str] = Relay(rounds=0, max_active=8)
    assert relay.offer("k", "x") and not relay.offer("k", "x")
    assert relay.due() == []


def test_relay_bounds_active_items_and_the_seen_set():
    relay: Relay[int] = Relay(rounds=5, max_active=4, max_seen=10)
    for i in range(20):
        relay.offer(i, i)
    assert relay.due() == [16, 17, 18, 19] and relay.evicted == 16
    assert relay.offer(0, 0) is True  # forgotten: the seen set holds the last 10 only


# --- config -------------------------------------------------------------------------------


def test_default_config_is_valid():
    GossipConfig().validate()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"fanout": 0}, "fanout"),
        ({"fanout": "3"}, "fanout"),
        ({"fanout": True}, "fanout"),
        ({"topology": "star"}, "topology"),
        ({"bind": "tcp://127.0.0.1:70000"}, "bind"),
        ({"advertise": "tcp://0.0.0.0:5555"}, "advertise"),
        ({"advertise": "tcp://host:0"}, "advertise"),
        ({"heartbeat_interval": 0}, "heartbeat_interval"),
        ({"heartbeat_interval": float("nan")}, "heartbeat_interval"),
        ({"dead_after": 0.5}, "dead_after"),
        ({"forget_after": 1.0}, "forget_after"),
        ({"max_peers": 10**6}, "max_peers"),
        ({"max_message_bytes": 100}, "max_message_bytes"),
        ({"exchange_size": 1000}, "exchange_size"),
        ({"inbox_size": 0}, "inbox_size"),
        ({"bind": None}, "bind"),
        ({"gossip_seed": 1.5}, "gossip_seed"),
    ],
)
def test_bad_config_names_the_field(changes: dict, field: str):
    config = GossipConfig(**changes)
    with pytest.raises(ValueError) as err:
        config.validate()
    assert str(err.value).startswith(f"{field}:"), str(err.value)


def test_toml_integers_are_accepted_for_float_fields():
    GossipConfig(heartbeat_interval=1, dead_after=5).validate()


def test_gossip_imports_neither_gymnasium_nor_cma_nor_island():
    code = (
        "import sys, gossip\n"
        "bad = [m for m in ('gymnasium', 'cma', 'envs', 'island') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
