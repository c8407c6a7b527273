"""A proven member lying about others: forged deaths, forged incarnations, zombies (issue 41).

The rogue joins its victim as an honest node would (it proves its own
address), then gossips valid-looking membership news about a third node. Only
the subject of a claim may raise its incarnation or say it is alive; one peer's
word never evicts anybody, and a crashed node is dropped whatever a rogue says.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time

from gossip.events import MigrantReceived
from gossip.messages import GOSSIP, MIGRANTS, SHUFFLE
from gossip.migrant import migrant_to_map
from island.record import of_kind, read_events
from tests.rogue import Scene, config, deaths, elite, fakes, wait_for
from tests.test_host_names import free_port

HUGE = 2**53  # the forged incarnation: beyond what a node ever reaches itself
CLAIMS_PER_S = 2.0


def forged_death(address: str, node_id: str, incarnation: int, accuser: str) -> list[list]:
    return [["suspect", address, node_id, incarnation, accuser],
            ["dead", address, node_id, incarnation]]


def live_under_forged_deaths(seconds: float = 10.0) -> dict[str, float]:
    """Samples (2/s) of the victim holding honest live while a proven rogue claims honest is
    suspect and dead at 2^53, at its incarnation and one above; also read by
    benchmarks/gossip_attacks.py."""
    with Scene() as scene:
        victim, honest = scene.pair()
        rogue = scene.rogue(victim.address, node_id="mallory", join=True)
        samples, live = 0, 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            known = honest.counters()["incarnation"]  # what a member learns from the news
            for incarnation in (HUGE, known, known + 1):
                rogue.send(GOSSIP, {"updates": forged_death(honest.address, "honest",
                                                            incarnation, rogue.address)})
            rogue.pump(1.0 / CLAIMS_PER_S)
            samples += 1
            live += honest.address in victim.peers()
        return {"live": live, "samples": samples,
                "incarnation_forged": honest.counters()["incarnation"] >= HUGE,
                "deaths": deaths(victim, []).count(honest.address)}


def test_a_live_peer_stays_live_under_a_proven_rogues_death_claims():
    seen = live_under_forged_deaths()
    assert seen["live"] / seen["samples"] >= 0.95, seen
    assert not seen["incarnation_forged"]  # nobody but honest raises its own
    assert seen["deaths"] == 0


def crashed_peer_dropped_after(limit: float = 60.0) -> float:
    """Seconds from SIGKILL of a member until its neighbour drops it (inf if it still holds
    it after `limit` s), while a proven rogue says twice a second that it is alive, each time
    at a newer incarnation; benchmarks/gossip_attacks.py holds it to 3 x dead_after."""
    with Scene() as scene:
        victim = scene.start("victim")
        member = scene.member("doomed", "tcp://127.0.0.1:0", "--heartbeat-interval", "0.1",
                              "--dead-after", "1.0")
        doomed = json.loads(member.stdout.readline())["address"]
        helper = scene.start("helper", seeds=[victim.address])
        victim_of = scene.start("joiner", seeds=[doomed, victim.address])
        wait_for(lambda: doomed in victim.peers() or doomed in helper.peers()
                 or doomed in victim_of.peers(), "the doomed member to be somebody's neighbour")
        holder = next(n for n in (victim, helper, victim_of) if doomed in n.peers())
        rogue = scene.rogue(holder.address, node_id="mallory", join=True)
        incarnation = int(time.time())
        member.send_signal(signal.SIGKILL)
        member.wait(timeout=10)
        killed = time.monotonic()
        while doomed in holder.peers() and time.monotonic() - killed < limit:
            incarnation += 1  # a zombie: "alive", each time a little newer
            rogue.send(GOSSIP, {"updates": [["alive", doomed, "doomed", incarnation]]})
            rogue.pump(1.0 / CLAIMS_PER_S)
        return time.monotonic() - killed if doomed not in holder.peers() else float("inf")


def test_a_crashed_peer_is_dropped_whatever_a_rogue_says():
    """Eventually: the 3 x dead_after goal is measured by benchmarks/gossip_attacks.py, where
    a loaded machine's timing does not fail the suite."""
    assert crashed_peer_dropped_after(limit=60.0) < float("inf")


def passive_view_flood() -> dict[str, float]:
    """A proven rogue's peer-exchange flood (64 fresh fakes per shuffle, 10 a second, and
    alive news of them): the worst share of fakes in the victim's passive view, and the
    fakes in two honest peers' views afterwards."""
    with Scene() as scene:
        victim, honest = scene.pair()
        third = scene.start("third", seeds=[victim.address])
        wait_for(lambda: third.address in victim.peers(), "a third honest member")
        rogue = scene.rogue(victim.address, node_id="mallory", join=True)
        fake_set: set[str] = set()
        worst = 0.0
        for second in range(6):  # 64 fresh fakes per shuffle, 10 shuffles and news a second
            for k in range(10):
                batch = fakes(64, salt=second * 10 + k)
                fake_set.update(batch)
                rogue.send(SHUFFLE, {"peers": [[a, "fake"] for a in batch]})
                rogue.send(GOSSIP, {"updates": [["alive", a, "fake", 1] for a in batch[:32]]})
                rogue.pump(0.1)
            passive = victim.passive_peers()
            worst = max(worst, len(fake_set & set(passive)) / max(1, config().passive_size))
        rogue.pump(2.0)  # several shuffles between the honest members
        spread = sum(len(fake_set & (set(n.passive_peers()) | set(n.peers())))
                     for n in (honest, third))
        return {"worst_fake_share": worst, "spread_to_honest": spread}


def test_a_peer_exchange_flood_neither_owns_a_passive_view_nor_spreads():
    seen = passive_view_flood()
    assert seen["worst_fake_share"] <= 0.10, seen
    assert seen["spread_to_honest"] == 0, seen


def injected_from_honest(flood: bool, generations: int = 8) -> float:
    """Honest migrants among the first CAP of each drain: the island injects in the order
    drain() hands them, up to a quarter of its population (island/arrivals.py)."""
    cap = 2  # popsize 8
    with Scene() as scene:
        victim, honest = scene.pair()
        rogue = scene.rogue(victim.address, node_id="flooder", join=True)
        wires = [migrant_to_map(elite("flooder", g)) for g in range(16)]
        honest_injected = 0
        for generation in range(generations):
            # The honest pair first, so that what is measured is the order drain() hands
            # migrants out in, not which message a loaded machine delivered first.
            sent = honest.counters().get("migrants_sent", 0)
            honest.emit([elite("honest", 2 * generation), elite("honest", 2 * generation + 1)])
            wait_for(lambda sent=sent: honest.counters().get("migrants_sent", 0) >= sent + 2,
                     "the honest peer to send")
            rogue.pump(0.1)
            if flood:
                for k in range(20):
                    rogue.send(MIGRANTS, {"migrants": [
                        {**w, "generation": generation * 10**4 + k} for w in wires]})
            rogue.pump(0.3)
            drained = victim.drain()
            honest_injected += sum(m.sender == "honest" for m in drained[:cap])
        return honest_injected / generations


def test_a_flooding_identity_takes_only_what_honest_peers_leave():
    without = injected_from_honest(flood=False)
    under_flood = injected_from_honest(flood=True)
    assert without > 0
    assert under_flood >= 0.8 * without, (under_flood, without)


def test_a_restarted_member_takes_its_neighbours_migrants_again_at_once(tmp_path):
    """SIGKILL and restart at the same address, faster than the neighbour declares it dead:
    the neighbour's connection is unknown to the new process, which asks it to prove itself
    instead of dropping its migrants until the neighbour's view changes (the soak's loss)."""
    port = free_port()
    events = tmp_path / "events.jsonl"

    def received_since(t: float) -> int:
        received = of_kind(read_events(events), MigrantReceived)
        return sum(e.time >= t for e in received)

    with Scene() as scene:
        def member() -> subprocess.Popen:
            proc = scene.member("restarted", f"tcp://127.0.0.1:{port}", "--heartbeat-interval",
                                "0.5", "--dead-after", "5", "--events", str(events))
            proc.stdout.readline()  # bound
            return proc

        proc = member()
        sender = scene.start("sender", seeds=[f"tcp://127.0.0.1:{port}"],
                             heartbeat_interval=0.5, dead_after=5.0)
        wait_for(lambda: sender.peers() == [f"tcp://127.0.0.1:{port}"], "the pair to meet")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        member()
        restarted = time.time()
        generation = 0

        def arrived() -> bool:
            nonlocal generation
            generation += 1
            sender.emit([elite("sender", generation)])
            return received_since(restarted) > 0

        wait_for(arrived, "migrants at the restarted member", timeout=8.0)
        assert f"tcp://127.0.0.1:{port}" in sender.peers()  # never declared dead meanwhile
