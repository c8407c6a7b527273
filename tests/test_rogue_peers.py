"""Rogue peers with real sockets on 127.0.0.1: floods, forged addresses, spoofed ids, slow DNS.

Every attack here sends messages that pass validation; the victim must drop
them by who sent them, count the drop, and go on answering and gossiping.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time

import zmq
import zmq.auth

from gossip import Gossip, Migrant, query_status
from gossip.events import GossipEvent
from gossip.messages import GOSSIP, JOIN, MIGRANTS, PING, SHUFFLE
from gossip.migrant import migrant_to_map
from tests.rogue import Scene, config, deaths, elite, fakes, wait_for


def test_forged_address_claims_open_no_connections_and_reach_no_view():
    with Scene() as scene:
        victim, honest = scene.pair()
        rogue = scene.rogue(victim.address)
        claims = fakes(1500)
        started = time.monotonic()
        for i, fake in enumerate(claims):  # any message used to mark its address alive
            rogue.send([JOIN, PING, GOSSIP, SHUFFLE][i % 4], {
                JOIN: {"neighbours": 0, "incarnation": 1, "replace": False},
                PING: {"nonce": f"n{i}", "updates": [["alive", fake, "f", 9]]},
                GOSSIP: {"updates": [["alive", fake, f"f{i}", 1]]},
                SHUFFLE: {"peers": [[fake, "f"]]},
            }[[JOIN, PING, GOSSIP, SHUFFLE][i % 4]], sender=f"f{i}", addr=fake)
        wait_for(lambda: victim.counters().get("messages_received", 0) > 1500, "the claims")
        time.sleep(1.0)
        elapsed = time.monotonic() - started
        counters = victim.counters()
        assert query_status(victim.address, timeout=2.0)["node"] == "victim"
        cfg = config()
        assert counters["connections_open"] <= cfg.active_size + cfg.max_dials
        assert counters.get("dials", 0) <= cfg.dial_rate * elapsed + 2 * cfg.dial_rate + 2
        # One connection's budget is 100 messages/s (burst 200): the rest are only counted.
        assert counters["over_budget"] >= 1000
        assert counters["rejected.unproven_sender"] >= 50  # gossip and shuffle from nobody
        assert counters.get("identities_proven", 0) == 1  # honest only
        assert victim.peers() == [honest.address] and honest.peers() == [victim.address]
        assert not set(claims) & set(query_status(honest.address, timeout=2.0)["peers"])
        assert counters.get("internal_error", 0) == 0


def test_peer_exchange_flood_from_a_proven_member_reaches_no_active_view():
    with Scene() as scene:
        victim, honest = scene.pair()
        rogue = scene.rogue(victim.address, join=True)
        events_v: list[GossipEvent] = []
        events_h: list[GossipEvent] = []
        answered = 0
        for second in range(4):  # 250 fake addresses per message, 20 messages a second
            for k in range(20):
                batch = fakes(250, salt=second * 20 + k)
                for j in range(0, 250, 64):
                    rogue.send(SHUFFLE, {"peers": [[a, "fake"] for a in batch[j:j + 64]]})
                rogue.send(GOSSIP, {"updates": [["alive", a, "fake", 1] for a in batch[:32]]})
                rogue.pump(0.05)
            answered += query_status(victim.address, timeout=1.0)["node"] == "victim"
        rogue.pump(1.0)
        counters = victim.counters()
        cfg = config()
        assert answered == 4
        assert counters["connections_open"] <= cfg.active_size + cfg.max_dials
        assert counters["peers_passive"] <= cfg.passive_size
        fake_set = set(fakes(250 * 80))
        for node in (victim, honest):
            assert not fake_set & set(node.peers())
        assert deaths(victim, events_v) == [] and deaths(honest, events_h) == []
        assert victim.address in honest.peers()


def test_spoofed_messages_never_change_what_a_node_believes_about_the_claimed_node():
    with Scene() as scene:
        victim, honest = scene.pair()
        rogue = scene.rogue(victim.address, node_id="mallory", join=True)
        wire = migrant_to_map(elite("honest", 7))
        for i in range(50):
            # unproven connection claiming to be honest: migrants, liveness
            rogue_plain = rogue.send(MIGRANTS, {"migrants": [wire]}, sender="honest",
                                     addr=honest.address)
            assert rogue_plain
            rogue.send(PING, {"nonce": f"s{i}", "updates": [["dead", honest.address, "honest",
                                                                 10**6]]})
            rogue.pump(0.01)
        # a proven member passing its migrant off as honest's
        rogue.send(MIGRANTS, {"migrants": [migrant_to_map(elite("honest", 8))]})
        rogue.pump(0.5)
        counters = victim.counters()
        assert victim.drain() == []
        assert counters["rejected.spoofed_id"] >= 50
        # dropped is not accepted: only the proven member's one migrant message counts
        assert counters["received.migrants"] == 1
        assert counters["migrants_rejected.origin_not_sender"] == 1
        # "dead at incarnation 10**6" is not the incarnation honest holds: nobody suspects it
        before = honest.counters()["incarnation"]
        rogue.pump(0.5)
        assert honest.counters()["incarnation"] == before
        assert honest.address in victim.peers()
        # and a stopped node is not kept alive by pings claiming to be it
        honest.close()
        events: list[GossipEvent] = []
        deadline = time.monotonic() + 15
        while honest.address not in deaths(victim, events) and time.monotonic() < deadline:
            rogue.send(PING, {"nonce": "x", "updates": []}, sender="honest", addr=honest.address)
            rogue.pump(0.05)
        assert honest.address in deaths(victim, events)


def test_with_curve_an_allowed_key_cannot_speak_for_another_node(tmp_path):
    keys, allow = tmp_path / "keys", tmp_path / "allow"
    keys.mkdir()
    allow.mkdir()
    for name in ("victim", "honest", "mallory"):
        zmq.auth.create_certificates(str(keys), name)
        shutil.copy(keys / f"{name}.key", allow)
    with Scene() as scene:
        def secured(name: str, peers: str | None = None) -> Gossip:
            return scene.add(Gossip(config(curve_secret=str(keys / f"{name}.key_secret"),
                                           curve_allow=str(allow), peers=peers), name))

        victim = secured("victim")
        victim_key = zmq.auth.load_certificate(keys / "victim.key")[0].decode()
        (tmp_path / "peers.txt").write_text(f"{victim.address} {victim_key}\n")
        honest = secured("honest", str(tmp_path / "peers.txt"))
        wait_for(lambda: victim.peers() == [honest.address], "the secured pair to meet")
        public, secret = zmq.auth.load_certificate(keys / "mallory.key_secret")
        sock = scene.dealer(victim.address, {
            zmq.CURVE_SERVERKEY: zmq.auth.load_certificate(keys / "victim.key")[0],
            zmq.CURVE_PUBLICKEY: public, zmq.CURVE_SECRETKEY: secret})
        from gossip.messages import encode_message

        wire = migrant_to_map(elite("honest", 3))
        for _ in range(20):
            sock.send(encode_message(MIGRANTS, "honest", honest.address, {"migrants": [wire]}))
        wait_for(lambda: victim.counters().get("rejected.spoofed_id", 0) == 20,
                 "the key's lies to be counted")
        assert victim.drain() == []
        assert victim.peers() == [honest.address]


def test_a_resolver_that_never_answers_does_not_stall_the_node():
    hang = threading.Event()

    def silent_dns(host: str) -> tuple[str, ...]:
        hang.wait(40)  # a name server that never answers
        raise socket.gaierror("timed out")

    with Scene() as scene:
        scene.defer(hang.set)
        victim = scene.add(Gossip(config(resolve_timeout=0.5), "victim", resolve=silent_dns,
                                  seeds=[f"tcp://island-{i}.example:5555" for i in range(20)]))
        honest = scene.start("honest", seeds=[victim.address])
        wait_for(lambda: victim.peers() == [honest.address], "the pair to meet despite DNS")
        slowest = 0.0
        events: list[GossipEvent] = []
        for _ in range(20):
            t0 = time.monotonic()
            assert query_status(victim.address, timeout=1.0)["node"] == "victim"
            slowest = max(slowest, time.monotonic() - t0)
            time.sleep(0.1)
        counters = victim.counters()
        assert slowest < 0.5, slowest
        assert deaths(honest, events) == []
        assert counters["name_lookups_timed_out"] > 0


def test_a_migrant_flood_from_one_peer_does_not_crowd_out_the_others():
    with Scene() as scene:
        victim, honest = scene.pair(event_rate=50.0)
        rogue = scene.rogue(victim.address, node_id="flooder", join=True)
        wires = [migrant_to_map(elite("flooder", g)) for g in range(64)]
        got: list[Migrant] = []
        events: list[GossipEvent] = []
        start = time.monotonic()
        for generation in range(10):
            for k in range(40):  # 2,560 valid migrants per generation from one sender
                rogue.send(MIGRANTS, {"migrants": [{**w, "generation": generation * 10**4 + k}
                                                   for w in wires]})
            honest.emit([elite("honest", generation)])
            rogue.pump(0.3)
            got += victim.drain()
            events += victim.events()
        elapsed = time.monotonic() - start  # the events above were drained within it

        def honest_arrived() -> bool:  # on a loaded machine the last ones may be in flight
            got.extend(victim.drain())
            return sum(m.sender == "honest" for m in got) >= 9

        try:
            wait_for(honest_arrived, "the honest peer's migrants", timeout=10.0)
        finally:
            by_sender = {s: sum(m.sender == s for m in got) for s in ("flooder", "honest")}
        cfg = config()
        assert by_sender["honest"] >= 9, by_sender
        assert by_sender["flooder"] <= 11 * cfg.migrants_per_sender
        received = [e for e in events if e.event == "migrant_received"]
        # event_rate 50/s over the loop (about 3 s; longer on a loaded machine) and a burst of
        # 2 s: a fixed 3 s failed when the loop took longer on a machine shared with a run
        assert len(received) <= 50 * 2 + 50 * max(4.0, elapsed + 1.0) + 20, elapsed
        assert any(e.event == "events_suppressed" for e in events)


def test_status_flood_from_many_connections_of_one_host_is_answered_within_one_budget():
    from gossip.gate import STATUS_RATE
    from gossip.messages import STATUS_REQUEST, encode_message

    with Scene() as scene:
        victim = scene.start("victim")
        socks = [scene.dealer(victim.address) for _ in range(50)]
        started = time.monotonic()
        for i in range(2000):
            socks[i % 50].send(encode_message(STATUS_REQUEST, "client", "", {"nonce": f"n{i}"}))
        wait_for(lambda: victim.counters().get("status_over_budget", 0)
                 + victim.counters().get("status_requests", 0) >= 2000, "the flood to arrive")
        took = time.monotonic() - started
        answered = victim.counters()["status_requests"]
        assert answered <= 2 * STATUS_RATE + STATUS_RATE * took + 1, (answered, took)
