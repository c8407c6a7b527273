"""Gossip over real ZeroMQ sockets on 127.0.0.1: nodes in threads of one process, free ports."""

from __future__ import annotations

import functools
import socket
import time
from collections.abc import Callable, Iterator

import msgpack
import numpy as np
import pytest
import zmq

from genome import GenomeSpec
from gossip import PROTOCOL_VERSION, Gossip, GossipConfig, Migrant, query_status
from tests import conftest

SPEC = GenomeSpec("weights+rules", (4, 8, 2))
DEADLINE_S = 15.0
wait_for = functools.partial(conftest.wait_for, timeout=DEADLINE_S, interval=0.02)


def fast_config(**changes) -> GossipConfig:
    settings = dict(
        bind="tcp://127.0.0.1:0", heartbeat_interval=0.05, dead_after=1.0, gossip_seed=None
    )
    settings.update(changes)
    return GossipConfig(**settings)


def elite(origin: str, generation: int, fitness: float = 1.0) -> Migrant:
    x = np.full(SPEC.dim, float(generation))
    return Migrant(origin, origin, SPEC, x, fitness, generation, "elite", "CartPole-v1")


@pytest.fixture
def start() -> Iterator[Callable[..., Gossip]]:
    """Start a Gossip node; every node is closed when the test ends, pass or fail."""
    started: list[Gossip] = []

    def _start(node_id: str, seeds: list[str] = (), status=None, **changes) -> Gossip:
        node = Gossip(fast_config(**changes), node_id, status=status, seeds=seeds)
        started.append(node)
        node.start()
        return node

    yield _start
    for node in started:
        node.close()


def all_know_each_other(nodes: list[Gossip]) -> bool:
    return all(sorted(n.peers()) == sorted(m.address for m in nodes if m is not n) for n in nodes)


def test_bound_to_port_zero_the_address_has_the_real_port(start):
    node = start("a")
    host, port = node.address.removeprefix("tcp://").rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    with socket.create_connection(("127.0.0.1", int(port)), timeout=2):
        pass  # something really listens there


def test_nodes_seeded_in_a_line_learn_each_other(start, tmp_path):
    c = start("c")
    b = start("b", seeds=[c.address])
    peers_file = tmp_path / "peers.txt"
    peers_file.write_text(f"# A only knows B\n{b.address.removeprefix('tcp://')}\n")
    a = start("a", peers=str(peers_file))
    wait_for(lambda: all_know_each_other([a, b, c]), "A, B and C to know each other")
    joined = {e.node for e in a.events() if e.event == "peer_joined"}
    assert joined == {"b", "c"}
    assert a.counters()["peers_alive"] == 2


def test_elite_emitted_by_a_is_drained_by_b_and_c(start):
    c = start("c")
    b = start("b", seeds=[c.address])
    a = start("a", seeds=[b.address])
    wait_for(lambda: all_know_each_other([a, b, c]), "the network to form")
    a.emit([elite("a", generation=3, fitness=42.0)])
    received: dict[str, list[Migrant]] = {"b": [], "c": []}

    def both_received() -> bool:
        received["b"] += b.drain()
        received["c"] += c.drain()
        return bool(received["b"] and received["c"])

    wait_for(both_received, "B and C to drain A's elite")
    for got in (received["b"][0], received["c"][0]):
        assert (got.origin, got.sender, got.generation, got.role) == ("a", "a", 3, "elite")
        assert got.claimed_fitness == 42.0 and got.env_id == "CartPole-v1"
        assert got.spec == SPEC
        np.testing.assert_array_equal(got.x, np.full(SPEC.dim, 3.0))
    sent = [e for e in a.events() if e.event == "migrant_sent"]
    assert sorted(e.to for e in sent) == sorted([b.address, c.address])
    got_events = [e for e in b.events() if e.event == "migrant_received"]
    assert got_events[0].origin == "a" and got_events[0].sender_addr == a.address
    assert a.counters()["migrants_sent"] == 2 and b.counters()["migrants_received"] == 1


def test_relay_carries_an_elite_around_a_ring(start):
    # Ring with fanout 1: A sends to its successor only; relaying takes it the rest of the way.
    ring = dict(relay_rounds=3, topology="ring", fanout=1)
    d = start("d", **ring)
    c = start("c", seeds=[d.address], **ring)
    b = start("b", seeds=[c.address], **ring)
    a = start("a", seeds=[b.address], **ring)
    others = [b, c, d]
    wait_for(lambda: all_know_each_other([a, *others]), "the ring to form")
    a.emit([elite("a", generation=1)])
    got: dict[str, list[Migrant]] = {n.node_id: [] for n in others}

    def all_received() -> bool:
        for n in others:
            got[n.node_id] += n.drain()
        return all(got.values())

    wait_for(all_received, "every node to receive A's elite through relays")
    assert all(len(v) == 1 and v[0].origin == "a" for v in got.values())  # no duplicates
    assert sorted(v[0].sender == "a" for v in got.values()) == [False, False, True]
    assert sum(n.counters().get("migrants_relayed", 0) for n in others) >= 2


def test_closed_node_says_goodbye_and_the_others_drop_it_at_once(start):
    # A suspicion would take 30 s or more here (the deadline is 15 s): only C's goodbye
    # can remove it in time.
    c = start("c", dead_after=30.0)
    b = start("b", seeds=[c.address], dead_after=30.0)
    a = start("a", seeds=[b.address], dead_after=30.0)
    wait_for(lambda: all_know_each_other([a, b, c]), "the network to form")
    closed = time.monotonic()
    c.close()
    wait_for(lambda: c.address not in a.peers() and c.address not in b.peers(), "C to be gone")
    assert time.monotonic() - closed < 5.0
    for node in (a, b):
        deaths = [e for e in node.events() if e.event == "peer_dead"]
        assert [(e.peer, e.node, e.reason) for e in deaths] == [(c.address, "c", "left")]
    assert a.peers() == [b.address]


def test_dead_peer_socket_is_closed_and_reopened_when_it_returns(start):
    a = start("a", forget_after=60.0)
    b = start("b", seeds=[a.address])
    wait_for(lambda: all_know_each_other([a, b]), "A and B to meet")
    port = b.address
    b.close()
    wait_for(lambda: a.counters().get("connections_closed", 0) >= 1, "A to close B's socket")
    b2 = start("b2", seeds=[a.address], bind=port)
    wait_for(lambda: a.peers() == [b2.address], "A to see B back")
    assert any(e.event == "peer_returned" for e in a.events())


def free_ports(n: int) -> list[int]:
    """Ports nothing listens on (bound by the OS, then released)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_status_query_returns_counters_peers_and_island_status(start):
    b = start("b", status=lambda: {"generation": 12, "best": 0.5, "env": "CartPole-v1"})
    a = start("a", seeds=[b.address])
    wait_for(lambda: all_know_each_other([a, b]), "A and B to meet")
    reply = query_status(b.address, timeout=5.0)
    assert reply["node"] == "b" and reply["address"] == b.address
    assert reply["peers"] == [a.address]
    assert reply["status"] == {"generation": 12, "best": 0.5, "env": "CartPole-v1"}
    assert reply["counters"]["messages_accepted"] > 0


def test_status_callback_errors_do_not_break_the_reply(start):
    def broken() -> dict:
        raise RuntimeError("island busy")

    node = start("a", status=broken)
    assert "error" in query_status(node.address, timeout=5.0)["status"]
    other = start("b", status=lambda: {"array": object()})
    assert "error" in query_status(other.address, timeout=5.0)["status"]
    assert other.counters()["status_callback_errors"] == 1


def test_status_query_to_nobody_times_out_naming_the_address():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with pytest.raises(TimeoutError, match=f"tcp://127.0.0.1:{free}"):
        query_status(f"127.0.0.1:{free}", timeout=0.3)


def test_garbage_from_the_network_is_counted_and_the_node_keeps_working(start):
    node = start("a", max_message_bytes=64 * 1024)
    context = zmq.Context()
    raw = context.socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    try:
        raw.connect(node.address)
        raw.send(b"\x00\x01garbage")
        raw.send_multipart([b"two", b"frames"])
        raw.send(msgpack.packb({"v": PROTOCOL_VERSION, "type": "migrants", "sender": "x",
                                "addr": "", "body": {}}))
        raw.send(msgpack.packb({"v": 99}))
        raw.send(b"\x91" * 5000 + b"\xc0")
        raw.send(b"\x00" * (65 * 1024))  # over MAXMSGSIZE: the socket drops the connection
        counters = wait_for(
            lambda: (c := node.counters()).get("messages_rejected", 0) >= 5 and c,
            "five rejections",
        )
    finally:
        raw.close(0)
        context.term()
    assert counters["rejected.not_msgpack"] == 2
    assert counters["rejected.bad_frames"] == 1
    assert counters["rejected.bad_field:addr"] == 1
    assert counters["rejected.bad_version"] == 1
    assert counters.get("internal_error", 0) == 0
    reasons = {e.reason for e in node.events() if e.event == "message_rejected"}
    assert reasons == {"not_msgpack", "bad_frames", "bad_field:addr", "bad_version"}
    assert query_status(node.address, timeout=5.0)["node"] == "a"  # still alive


def test_full_inbox_keeps_the_newest_and_counts_the_drop(start):
    b = start("b", inbox_size=2)
    a = start("a", seeds=[b.address])
    wait_for(lambda: all_know_each_other([a, b]), "A and B to meet")
    a.emit([elite("a", generation=g) for g in range(5)])
    wait_for(lambda: b.counters().get("migrants_received", 0) == 5, "B to receive 5")
    assert [m.generation for m in b.drain()] == [3, 4]
    assert b.counters()["inbox_dropped"] == 3


def test_emit_without_peers_never_blocks_and_is_counted(start):
    node = start("alone")
    t0 = time.monotonic()
    node.emit([elite("alone", g) for g in range(1000)])
    assert time.monotonic() - t0 < 5.0  # generous: this only guards against a blocking emit
    wait_for(lambda: node.counters().get("migrants_unsent", 0) > 0, "unsent migrants counted")
    assert node.counters().get("emit_dropped", 0) > 0  # outbox holds 256


def test_emit_rejects_a_migrant_no_peer_would_accept():
    node = Gossip(fast_config(), "a")
    with pytest.raises(ValueError, match="not finite"):
        node.emit([elite("a", 1, fitness=float("nan"))])
    node.close()


def test_close_is_idempotent_and_a_context_manager(start):
    with Gossip(fast_config(), "ctx") as node:
        address = node.address
        assert query_status(address, timeout=5.0)["node"] == "ctx"
    node.close()
    with pytest.raises(RuntimeError):
        node.start()
    with pytest.raises(TimeoutError):
        query_status(address, timeout=0.3)


def test_binding_a_port_in_use_raises_at_start(start):
    first = start("a")
    clash = Gossip(fast_config(bind=first.address), "b")
    with pytest.raises(OSError, match="cannot bind"):
        clash.start()
    clash.close()


def test_bad_node_id_is_refused():
    with pytest.raises(ValueError, match="node id"):
        Gossip(fast_config(), "two words")


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback on this host")
def test_nodes_meet_over_ipv6(start):
    a = start("a", bind="tcp://[::1]:0")
    b = start("b", bind="tcp://[::]:0", seeds=[a.address])
    assert a.address.startswith("tcp://[::1]:") and b.address.startswith("tcp://[::1]:")
    wait_for(lambda: all_know_each_other([a, b]), "A and B to meet over IPv6")
    assert query_status(a.address, timeout=5.0)["peers"] == [b.address]


def test_the_gossip_threads_cpu_clock_is_read_while_it_runs_and_kept_after_it_stops():
    node = Gossip(fast_config(), "clock")
    assert node.cpu_seconds() == 0.0  # no thread yet
    node.start()
    deadline = time.monotonic() + 5.0
    while node.cpu_seconds() <= 0.0 and time.monotonic() < deadline:
        time.sleep(0.05)
    running = node.cpu_seconds()
    assert running > 0.0
    node.close()
    final = node.cpu_seconds()
    assert final >= running
    time.sleep(0.1)
    assert node.cpu_seconds() == final  # the thread's last reading, not a dead thread's clock
