"""Membership, topologies, the relay rule and config checks: the socket-free logic, in sim time."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections import Counter

import pytest

from gossip.config import GossipConfig
from gossip.events import PeerChanged
from gossip.membership import Membership, Reply
from gossip.relay import Relay
from gossip.topology import FullTopology, RandomTopology, RingTopology, make_topology


def addr(i: int) -> str:
    return f"tcp://10.0.0.{i}:5555"


def make(i: int, **kwargs) -> Membership:
    kwargs.setdefault("rng", random.Random(i))
    return Membership(addr(i), f"n{i}", **kwargs)


class Net:
    """Nodes that deliver each other's sends at once, in steps of half a period (1 s)."""

    def __init__(self, nodes: list[Membership]) -> None:
        self.nodes = {m.self_addr: m for m in nodes}
        self.now = 0.0
        self.down: set[str] = set()
        self.sent: Counter[str] = Counter()

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.now += 0.5
            for m in list(self.nodes.values()):
                if m.self_addr not in self.down:
                    self.deliver(m, m.tick(self.now))

    def deliver(self, src: Membership, sends: list) -> None:
        todo = [(src, *send) for send in sends]
        while todo:
            sender, kind, to, body = todo.pop(0)
            self.sent[sender.self_addr] += 1
            target = to.token if isinstance(to, Reply) else to
            dst = self.nodes.get(target)
            if dst is None or target in self.down:
                continue
            if isinstance(to, Reply):
                out = dst.on_reply(kind, sender.self_addr, sender.node_id, body, self.now)
            else:
                out = dst.on_request(kind, sender.self_addr, sender.node_id, body, self.now,
                                     Reply(sender.self_addr))
            todo += [(dst, *send) for send in out]


def line(n: int, **kwargs) -> Net:
    """Node i knows only node i + 1 (its peers file)."""
    nodes = [make(i, **kwargs) for i in range(1, n + 1)]
    for m, nxt in zip(nodes, nodes[1:], strict=False):
        m.add_seeds([nxt.self_addr], now=0.0)
    return Net(nodes)


def events(net: Net, name: str) -> list[PeerChanged]:
    return [e for m in net.nodes.values() for e in m.drain_events() if e.event == name]


def everyone_knows_everyone(net: Net) -> bool:
    live = set(net.nodes) - net.down
    return all(set(net.nodes[a].live()) == live - {a} for a in live)


def test_nodes_seeded_in_a_line_all_become_neighbours():
    net = line(5)
    for _ in range(40):
        net.step()
        if everyone_knows_everyone(net):
            break
    assert everyone_knows_everyone(net)
    assert len(events(net, "peer_joined")) == 20


def test_crashed_node_is_suspected_then_dead_everywhere():
    net = line(5, dead_after=3.0)
    net.step(40)
    assert everyone_knows_everyone(net)
    for m in net.nodes.values():
        m.drain_events()
    net.down.add(addr(3))
    net.step(2 * 20)
    for a in set(net.nodes) - {addr(3)}:
        assert addr(3) not in net.nodes[a].live()
        events = [(e.event, e.peer) for e in net.nodes[a].drain_events()]
        assert ("peer_dead", addr(3)) in events
        assert all(peer == addr(3) for name, peer in events if name == "peer_dead")


def test_suspected_node_that_answers_refutes_with_a_higher_incarnation():
    net = line(3)
    net.step(30)
    a, b = net.nodes[addr(1)], net.nodes[addr(2)]
    rumour = [["suspect", addr(2), "n2", b.incarnation]]
    a.on_request("gossip", addr(3), "n3", {"updates": rumour}, net.now, Reply(addr(3)))
    assert a.member(addr(2)).suspect_since is not None
    net.step(2 * 8)
    assert a.member(addr(2)).suspect_since is None
    assert b.incarnation == 1 and a.member(addr(2)).incarnation == 1
    assert not events(net, "peer_dead")


def test_a_node_paused_two_periods_is_not_declared_dead_and_accuses_nobody():
    net = line(6)
    net.step(40)
    for m in net.nodes.values():
        m.drain_events()
    net.down.add(addr(4))
    net.step(4)  # 2 s
    net.down.clear()
    net.step(2 * 20)
    assert events(net, "peer_dead") == []
    assert everyone_knows_everyone(net)


def test_a_node_paused_until_declared_dead_rejoins_everywhere():
    net = line(6, dead_after=3.0)
    net.step(40)
    assert everyone_knows_everyone(net)
    net.down.add(addr(4))
    net.step(2 * 20)
    assert all(addr(4) not in net.nodes[a].live() for a in set(net.nodes) - {addr(4)})
    net.down.clear()  # it still holds all five: a view only it believes in
    for _ in range(2 * 30):
        net.step()
        if everyone_knows_everyone(net):
            break
    assert everyone_knows_everyone(net)


def test_forged_news_of_our_death_starts_one_rejoin_round_per_suspicion_timeout():
    net = line(4)
    net.step(40)
    a = net.nodes[addr(1)]
    rumour = {"updates": [["dead", addr(1), "n1", a.incarnation]]}
    joins = []
    for _ in range(5):  # a rogue neighbour repeating it within one period, answered each time
        out = a.on_request("gossip", addr(2), "n2", rumour, net.now, Reply(addr(2)))
        joins += [to for kind, to, _ in out if kind == "join"]
        net.deliver(a, out)
        rumour["updates"][0][3] = a.incarnation
    assert sorted(joins) == sorted(a.live())  # each neighbour asked once, not five times
    net.step(2 * 10)
    assert everyone_knows_everyone(net)


def test_a_leaving_node_is_dropped_at_once_and_a_forged_goodbye_only_suspects():
    net = line(4, dead_after=5.0)
    net.step(40)
    assert everyone_knows_everyone(net)
    for m in net.nodes.values():
        m.drain_events()
    a, b = net.nodes[addr(1)], net.nodes[addr(2)]
    # A rogue B forges D's goodbye: news of D's death from anyone but D starts a suspicion.
    d = net.nodes[addr(4)]
    before = d.incarnation
    forged = {"updates": [["dead", addr(4), "n4", before]]}
    net.deliver(b, [("gossip", addr(1), forged)])  # A suspects D and tells it: D refutes
    assert addr(4) in a.live() and d.incarnation == before + 1
    leaver = net.nodes[addr(3)]
    net.deliver(leaver, leaver.leave())
    net.down.add(addr(3))
    for m in (net.nodes[a] for a in (addr(1), addr(2), addr(4))):
        assert addr(3) not in m.live()  # at once: no suspicion timeout
        deaths = [e for e in m.drain_events() if e.event == "peer_dead"]
        assert [(e.peer, e.reason) for e in deaths] == [(addr(3), "left")]
    net.step(2 * 10)
    assert addr(4) in a.live() and a.member(addr(4)).suspect_since is None
    assert not events(net, "peer_dead")


def test_rumoured_addresses_enter_the_passive_view_only():
    m = make(1, passive_size=50)
    m.on_reply("join_reply", addr(2), "n2", {"accepted": True, "peers": [], "incarnation": 0}, 0.0)
    for batch in range(100):
        fakes = [[f"tcp://fake-{batch}-{i}:1", f"f{i}"] for i in range(64)]
        m.on_request("shuffle", addr(2), "n2", {"peers": fakes}, float(batch), Reply(addr(2)))
        assert len(m.passive) <= 50
    assert m.live() == [addr(2)]  # only the proven contact is a neighbour


def test_view_work_per_address_does_not_grow_with_the_views():
    def shuffle_cost(passive_size: int) -> float:
        m = make(1, passive_size=passive_size)
        fakes = [[f"tcp://10.9.{i // 250}.{i % 250}:1", "f"] for i in range(64)]
        t0 = time.perf_counter()
        for k in range(200):
            batch = [[f"{a}{k}", n] for a, n in fakes]
            m.on_request("shuffle", addr(2), "n2", {"peers": batch}, 0.0, Reply(addr(2)))
        return time.perf_counter() - t0

    small, large = shuffle_cost(64), shuffle_cost(4096)
    assert large < 3 * small + 0.05, (small, large)


def test_messages_per_period_do_not_grow_with_the_network():
    for n in (10, 40):
        nodes = [make(i) for i in range(1, n + 1)]
        for m in nodes[1:]:
            m.add_seeds([addr(1)], now=0.0)
        net = Net(nodes)
        net.step(2 * 40)
        net.sent.clear()
        net.step(2 * 10)
        assert max(net.sent.values()) / 10 <= 10, (n, net.sent.most_common(3))


def test_own_address_never_enters_a_view():
    m = make(1)
    m.add_seeds([addr(1)], now=0.0)
    m.on_request("shuffle", addr(2), "n2", {"peers": [[addr(1), "n1"]]}, 0.0, Reply(addr(2)))
    assert addr(1) not in m.known()


def test_suspicion_of_self_is_refuted_and_dead_news_of_others_only_suspects_neighbours():
    m = make(1)
    m.on_reply("join_reply", addr(2), "n2", {"accepted": True, "peers": [], "incarnation": 5}, 0.0)
    m.on_request("gossip", addr(3), "n3", {"updates": [["dead", addr(1), "n1", 7]]}, 1.0,
                 Reply(addr(3)))
    assert m.incarnation == 0  # an incarnation this node never had: forged, ignored
    m.on_request("gossip", addr(3), "n3", {"updates": [["dead", addr(1), "n1", 0]]}, 1.0,
                 Reply(addr(3)))
    assert m.incarnation == 1  # refuted: only the subject raises its own incarnation
    m.on_request("gossip", addr(3), "n3", {"updates": [["dead", addr(2), "n2", 6]]}, 1.0,
                 Reply(addr(3)))
    assert m.member(addr(2)).suspect_since is None  # not the incarnation n2 holds
    m.on_request("gossip", addr(3), "n3", {"updates": [["dead", addr(2), "n2", 5]]}, 1.0,
                 Reply(addr(3)))
    assert addr(2) in m.live() and m.member(addr(2)).suspect_since == 1.0  # our timer decides
    m.on_request("gossip", addr(3), "n3", {"updates": [["alive", addr(2), "n2", 9]]}, 1.5,
                 Reply(addr(3)))
    assert m.member(addr(2)).suspect_since == 1.0  # only n2 itself may say it lives
    m.on_request("gossip", addr(2), "n2", {"updates": [["alive", addr(2), "n2", 6]]}, 1.5,
                 Reply(addr(2)))
    assert m.member(addr(2)).suspect_since is None and m.member(addr(2)).incarnation == 6


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
        ({"passive_size": 10**6}, "passive_size"),
        ({"active_size": 0}, "active_size"),
        ({"sender_rate": 0}, "sender_rate"),
        ({"max_message_bytes": 100}, "max_message_bytes"),
        ({"migrants_per_sender": 0}, "migrants_per_sender"),
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
