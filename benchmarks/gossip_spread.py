"""Membership and elite spread at 10,000 nodes, measured on the real protocol classes.

A simulated network runs in one process. Every node is the very `Membership`
(SWIM probes, HyParView views, news), `Relay` (migrant push) and
`RandomTopology` the gossip thread runs; only sockets, msgpack and the proof
of identity (which honest nodes always pass) are left out. Time advances in
half periods; a message arrives within the step it is sent, unless lost
(`--loss`) or its destination is down or paused.

Experiments (goals from issue 13):
- steady state: messages each node sends per protocol period (<= 10);
- crash: periods until no live node holds the crashed node in a view or
  lists it alive (<= suspicion timeout + 10 periods), and false deaths;
- loss: false deaths over `--loss-periods` periods with 5% and 20% of all
  messages lost (0 at 5%);
- pause: a node stopped for 2 s (SIGSTOP-like: its clock jumps when it wakes),
  false deaths (0);
- elite: rounds until an elite pushed with fanout 3 (relay 4 rounds) holds at
  99% / 100% of nodes (99% within 10 rounds);
- crashes under a rogue (`--rogue-crashes`, issue 41): periods from a crash to the
  first holder's verdict and to the last holder's, while a proven rogue forges
  deaths of live nodes (the soak's, without the machine's load).

    .venv/bin/python benchmarks/gossip_spread.py                  # N = 10,000
    .venv/bin/python benchmarks/gossip_spread.py --nodes 1000 --seed 2
    .venv/bin/python benchmarks/gossip_spread.py --nodes 100 --quick --rogue-crashes 20
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gossip.config import GossipConfig  # noqa: E402
from gossip.events import PeerChanged  # noqa: E402
from gossip.membership import Membership, Reply  # noqa: E402
from gossip.relay import Relay  # noqa: E402
from gossip.topology import RandomTopology  # noqa: E402

DEFAULTS = GossipConfig()
PERIOD = DEFAULTS.heartbeat_interval
STEP = PERIOD / 2


@dataclass
class SimNode:
    address: str
    membership: Membership
    relay: Relay[str]
    up: bool = True
    paused_until: float = 0.0  # also its start: nodes join a few hundred per period
    sent: Counter[str] = field(default_factory=Counter)

    def reachable(self, now: float) -> bool:
        return self.up and now >= self.paused_until


class SimNetwork:
    """N nodes with the default GossipConfig, each seeded with one earlier node."""

    def __init__(self, n: int, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.topology = RandomTopology()
        self.nodes: dict[str, SimNode] = {}
        self.order: list[SimNode] = []
        self.now = 0.0
        self.loss = 0.0
        self.in_flight: deque[tuple[SimNode, str, object, dict]] = deque()
        for i in range(n):
            node = self.add_node(i)
            if i:
                seed = self.order[self.rng.randrange(i)].address
                node.membership.add_seeds([seed], 0.0)
                node.paused_until = i / args.join_rate * PERIOD
            self.order.append(node)

    def add_node(self, i: int) -> SimNode:
        address = f"tcp://10.{i // 65536}.{i // 256 % 256}.{i % 256}:5555"
        membership = Membership(
            address, f"n{i}", fanout=self.args.fanout, active_size=DEFAULTS.active_size,
            passive_size=DEFAULTS.passive_size, indirect_probes=DEFAULTS.indirect_probes,
            period=PERIOD, dead_after=DEFAULTS.dead_after, forget_after=DEFAULTS.forget_after,
            rng=random.Random(self.rng.random()),
        )
        node = SimNode(address, membership, Relay(self.args.relay_rounds, DEFAULTS.max_migrants))
        self.nodes[address] = node
        return node

    # --- message delivery -------------------------------------------------------------

    def send(self, src: SimNode, kind: str, to: object, body: dict) -> None:
        """Queue a message; it arrives within this step (a FIFO keeps the call stack flat)."""
        self.in_flight.append((src, kind, to, body))

    def deliver(self) -> None:
        while self.in_flight:
            self.arrive(*self.in_flight.popleft())

    def arrive(self, src: SimNode, kind: str, to: object, body: dict) -> None:
        src.sent[kind] += 1
        if self.loss and self.rng.random() < self.loss:
            return
        if isinstance(to, Reply):
            dst = self.nodes.get(to.token)
            if dst is None or not dst.reachable(self.now):
                return
            sends = dst.membership.on_reply(kind, src.address, src.membership.node_id, body,
                                            self.now)
        else:
            dst = self.nodes.get(to)
            if dst is None or not dst.reachable(self.now):
                return
            sends = dst.membership.on_request(kind, src.address, src.membership.node_id, body,
                                              self.now, Reply(src.address))
        for kind2, to2, body2 in sends:
            self.send(dst, kind2, to2, body2)

    def step(self) -> None:
        self.now += STEP
        nodes = [n for n in self.order if n.reachable(self.now)]
        self.rng.shuffle(nodes)
        for node in nodes:
            for kind, to, body in node.membership.tick(self.now):
                self.send(node, kind, to, body)
            self.deliver()

    def periods(self, k: float) -> None:
        for _ in range(int(round(k * PERIOD / STEP))):
            self.step()

    def live(self) -> list[SimNode]:
        return [n for n in self.order if n.up]

    def deaths(self) -> list[PeerChanged]:
        out = []
        for node in self.order:
            out += [e for e in node.membership.drain_events() if e.event == "peer_dead"]
        return out


def form(net: SimNetwork) -> dict[str, float]:
    """Let the network form from one seed per node; how full the views got."""
    for r in range(1, net.args.warmup + 1):
        net.periods(1)
        if r % 10 == 0:
            active = [len(n.membership.local.active) for n in net.order]
            short = sum(a < DEFAULTS.active_size for a in active)
            print(f"  formation period {r}: active view mean {statistics.fmean(active):.2f}, "
                  f"{short} nodes below {DEFAULTS.active_size}", flush=True)
    net.deaths()
    active = [len(n.membership.local.active) for n in net.order]
    passive = [len(n.membership.passive) for n in net.order]
    return {"active_mean": statistics.fmean(active), "active_min": min(active),
            "passive_mean": statistics.fmean(passive), "connected": connected(net)}


def connected(net: SimNetwork) -> float:
    """Fraction of live nodes reachable from the first over active views."""
    live = {n.address for n in net.live()}
    start = next(iter(live))
    seen, todo = {start}, [start]
    while todo:
        for peer in net.nodes[todo.pop()].membership.local.active:
            if peer in live and peer not in seen:
                seen.add(peer)
                todo.append(peer)
    return len(seen) / len(live)


def traffic(net: SimNetwork, periods: int) -> dict[str, float]:
    before = {n.address: sum(n.sent.values()) for n in net.order}
    net.periods(periods)
    per_node = [(sum(n.sent.values()) - before[n.address]) / periods for n in net.order]
    return {"mean": statistics.fmean(per_node), "max": max(per_node),
            "p99": sorted(per_node)[int(0.99 * len(per_node))]}


def crash(net: SimNetwork) -> dict[str, float]:
    victim = net.rng.choice(net.live())
    victim.up = False
    timeout = statistics.fmean(n.membership.verdicts.suspicion_timeout() for n in net.live())
    holders = sum(victim.address in n.membership.known() for n in net.live())
    start, detected, false = net.now, math.inf, 0
    while net.now - start < timeout + 40 * PERIOD:
        net.periods(1)
        false += sum(e.peer != victim.address for e in net.deaths())
        if not any(victim.address in n.membership.known() for n in net.live()):
            detected = (net.now - start) / PERIOD
            break
    return {"periods": detected, "timeout": timeout / PERIOD, "holders": holders,
            "false_deaths": false}


ROGUE = "tcp://192.0.2.1:5555"  # a proven member that lies (issue 41)


def forge(net: SimNetwork, claims: int) -> None:
    """`claims` of a rogue's forged deaths: a random live node told that another is suspect
    and dead, at the incarnation that node holds and at 2^53 (tests/test_forged_claims.py)."""
    live = net.live()
    for _ in range(claims):
        to, subject = net.rng.choice(live), net.rng.choice(live)
        incarnation = subject.membership.incarnation
        for forged in {incarnation, 2**53}:
            body = {"updates": [["suspect", subject.address, "x", forged, ROGUE],
                                ["dead", subject.address, "x", forged]]}
            for kind, dst, reply in to.membership.on_request("gossip", ROGUE, "rogue", body,
                                                             net.now, Reply(ROGUE)):
                net.send(to, kind, dst, reply)
    net.deliver()


def crashes_under_rogue(net: SimNetwork, crashes: int, claims: float) -> dict[str, float]:
    """Crash one node at a time while a rogue forges `claims` deaths a period: periods from
    the crash to the first holder's verdict and until no live node holds it in its active
    view (the soak's first and last holder), and false deaths meanwhile."""
    first, last, false = [], [], 0
    owed = 0.0
    for _ in range(crashes):
        victim = net.rng.choice(net.live())
        victim.up = False
        start, seen = net.now, None
        while net.now - start < 60 * PERIOD:
            net.step()
            owed += claims * STEP / PERIOD
            forge(net, int(owed))
            owed -= int(owed)
            for e in net.deaths():
                if e.peer != victim.address:
                    false += 1
                elif seen is None:
                    seen = (net.now - start) / PERIOD
            if not any(victim.address in n.membership.local.active for n in net.live()):
                break
        first.append(seen if seen is not None else math.inf)
        last.append((net.now - start) / PERIOD)
        net.periods(10)  # let the news settle before the next crash
        false += sum(e.peer != victim.address for e in net.deaths())
    goal = 3 * DEFAULTS.dead_after / PERIOD
    return {"first_median": statistics.median(first), "first_max": max(first),
            "last_median": statistics.median(last), "last_max": max(last),
            "within_goal": sum(t <= goal for t in last), "false_deaths": false}


def lossy(net: SimNetwork, loss: float) -> dict[str, float]:
    net.loss = loss
    net.deaths()
    net.periods(net.args.loss_periods)
    false = len(net.deaths())
    net.loss = 0.0
    net.periods(5)  # let refutations settle before the next experiment
    net.deaths()
    return {"false_deaths": false}


def pause(net: SimNetwork, seconds: float) -> dict[str, float]:
    victim = net.rng.choice(net.live())
    victim.paused_until = net.now + seconds
    net.deaths()
    net.periods(seconds / PERIOD + net.args.loss_periods)
    events = net.deaths()
    return {"false_deaths": len(events),
            "of_paused": sum(e.peer == victim.address for e in events)}


def elite(net: SimNetwork) -> dict[str, float]:
    """Push one elite with the relay rule over the active views; rounds to 99% / 100%."""
    origin = net.rng.choice(net.live())
    key = f"elite-{net.rng.random()}"
    holders = {origin.address: 0}
    origin.relay.offer(key, key)
    live = len(net.live())
    messages = 0
    busiest = 0
    pushing = [origin]
    r = 0
    while pushing:
        r += 1
        newly: list[SimNode] = []
        for node in pushing:
            due = node.relay.due()
            if not due:
                continue
            targets = net.topology.choose(node.membership.live(), node.address,
                                          net.args.fanout, net.rng)
            busiest = max(busiest, len(targets))
            for to in targets:
                messages += 1
                dst = net.nodes[to]
                if dst.up and dst.relay.offer(key, key):
                    holders[to] = r
                    newly.append(dst)
        pushing = [n for n in pushing if n.relay.active] + newly
    rounds = sorted(holders.values())
    need = math.ceil(0.99 * live)
    return {"r99": rounds[need - 1] if len(rounds) >= need else math.inf,
            "r100": rounds[-1] if len(rounds) >= live else math.inf,
            "reached": len(holders) / live, "messages_per_node": messages / live}


def run(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    net = SimNetwork(args.nodes, args)
    print(f"{args.nodes} nodes, active view {DEFAULTS.active_size}, passive view "
          f"{DEFAULTS.passive_size}, fanout {args.fanout}, indirect probes "
          f"{DEFAULTS.indirect_probes}, dead_after {DEFAULTS.dead_after} s, period {PERIOD} s, "
          f"seed {args.seed}", flush=True)
    formed = form(net)
    print(f"formed in {args.warmup} periods: active view mean {formed['active_mean']:.2f} "
          f"(min {formed['active_min']}), passive mean {formed['passive_mean']:.1f}, "
          f"connected {formed['connected']:.2%}", flush=True)
    t = traffic(net, 10)
    print(f"steady state: messages sent per node per period: mean {t['mean']:.2f}, "
          f"p99 {t['p99']:.1f}, max {t['max']:.1f}  (goal <= 10)", flush=True)
    c = crash(net)
    print(f"crash: gone from every view after {c['periods']:.1f} periods (suspicion timeout "
          f"{c['timeout']:.1f} periods; goal <= {c['timeout'] + 10:.1f}); held by "
          f"{c['holders']} nodes; false deaths {c['false_deaths']}", flush=True)
    if args.rogue_crashes:
        r = crashes_under_rogue(net, args.rogue_crashes, args.rogue_claims)
        print(f"{args.rogue_crashes} crashes, one at a time, under a rogue forging "
              f"{args.rogue_claims:g} deaths a period: first holder's verdict after "
              f"{r['first_median']:.1f} periods (median; max {r['first_max']:.1f}), last holder "
              f"after {r['last_median']:.1f} (max {r['last_max']:.1f}; {r['within_goal']} of "
              f"{args.rogue_crashes} within 3 x dead_after = "
              f"{3 * DEFAULTS.dead_after / PERIOD:.0f}); false deaths {r['false_deaths']}",
              flush=True)
    if args.quick:
        print(f"wall time {time.perf_counter() - t0:.0f} s")
        return
    r = lossy(net, 0.05)
    print(f"loss 5%: false deaths in {args.loss_periods} periods: {r['false_deaths']}  (goal 0)",
          flush=True)
    p = pause(net, 2.0)
    print(f"pause 2 s: false deaths {p['false_deaths']} ({p['of_paused']} of the paused node)"
          f"  (goal 0)", flush=True)
    trials = [elite(net) for _ in range(args.trials)]
    print(f"elite (fanout {args.fanout}, relay {args.relay_rounds} rounds, {args.trials} trials): "
          f"99% after {statistics.fmean(e['r99'] for e in trials):.1f} rounds (worst "
          f"{max(e['r99'] for e in trials)}), 100% after "
          f"{statistics.fmean(e['r100'] for e in trials):.1f}, reached "
          f"{statistics.fmean(e['reached'] for e in trials):.4%}, "
          f"{statistics.fmean(e['messages_per_node'] for e in trials):.1f} messages per node"
          f"  (goal 99% within 10)", flush=True)
    r = lossy(net, 0.20)  # last: the churn it causes would spoil the other measurements
    print(f"loss 20%: false deaths (peer_dead events) in {args.loss_periods} periods: "
          f"{r['false_deaths']}", flush=True)
    print(f"wall time {time.perf_counter() - t0:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=40, help="periods to form the network")
    parser.add_argument("--join-rate", type=float, default=500, help="nodes started per period")
    parser.add_argument("--loss-periods", type=int, default=30)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--fanout", type=int, default=DEFAULTS.fanout)
    parser.add_argument("--relay-rounds", type=int, default=4,
                        help="the config default is 0 (no relaying)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="formation, traffic and crash only")
    parser.add_argument("--rogue-crashes", type=int, default=0,
                        help="crashes measured one at a time under a rogue's forged deaths")
    parser.add_argument("--rogue-claims", type=float, default=6.0,
                        help="forged deaths a period (the soak's three rogues: 6)")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
