"""How fast news spreads through the gossip network, measured on the real protocol logic.

A simulated network of N nodes runs in one process in synchronous rounds (one
round = one heartbeat interval; messages arrive within the round they are
sent). Each node is driven by the same classes the gossip thread uses:
`Membership` (heartbeats, failure detection, peer exchange, join news),
`Relay` (the relay rule of push gossip) and `RandomTopology` (destinations).
Only the sockets and msgpack are left out.

Three experiments per network size:
- elite: one node emits an elite; push gossip with fanout 3 and the relay
  rule (`relay_rounds`, 4 here) carries it on. Rounds until 99% / 100% of
  the nodes hold it, and messages each node sends per round for it.
- join: a new node starts with one live seed. Rounds until every node lists
  it alive and it lists every node alive.
- death: a node stops. Rounds until every node lists it dead, and how many
  live peers were wrongly declared dead meanwhile (with `--loss`, a fraction
  of all messages is dropped at random).

Reference (DESIGN.md): push gossip with fanout 3 reaches 99% of 1,000 nodes
in about 7 rounds and all of them in about 8-10.

    .venv/bin/python benchmarks/gossip_spread.py            # N = 10, 100, 1000
    .venv/bin/python benchmarks/gossip_spread.py --sizes 10 100 1000 3000 --trials 10
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gossip.config import GossipConfig  # noqa: E402
from gossip.membership import Membership  # noqa: E402
from gossip.relay import Relay  # noqa: E402
from gossip.topology import RandomTopology  # noqa: E402

DEFAULTS = GossipConfig()
ROUND_S = DEFAULTS.heartbeat_interval  # one simulated round


@dataclass
class SimNode:
    address: str
    membership: Membership
    relay: Relay[str]
    up: bool = True
    sent: Counter[str] = field(default_factory=Counter)


class SimNetwork:
    """N nodes with the default GossipConfig settings, exchanging messages in rounds."""

    def __init__(self, n: int, args: argparse.Namespace, rng: random.Random) -> None:
        self.args = args
        self.rng = rng
        self.topology = RandomTopology()
        self.nodes: dict[str, SimNode] = {}
        self.round = 0
        for i in range(n):
            self.add_node(i)

    def add_node(self, i: int) -> SimNode:
        address = f"tcp://10.{i // 65536}.{i // 256 % 256}.{i % 256}:5555"
        membership = Membership(
            address,
            fanout=self.args.fanout,
            dead_after=self.args.dead_after * ROUND_S,
            exchange_size=self.args.exchange_size,
            news_rounds=self.args.news_rounds,
            max_peers=4096,
            rng=random.Random(self.rng.random()),
        )
        relay: Relay[str] = Relay(self.args.relay_rounds, max_active=DEFAULTS.max_migrants)
        node = SimNode(address, membership, relay)
        self.nodes[address] = node
        return node

    def converge(self) -> None:
        """Start from the steady state: every node has heard from every other one."""
        for node in self.nodes.values():
            for other in self.nodes:
                node.membership.on_message("heartbeat", other, other, None, 0.0)
            node.membership.drain_events()
        for _ in range(self.args.news_rounds + 1):  # let the news of that start die out
            self.membership_round()

    def deliver(self, kind: str, src: SimNode, dst_address: str, body: dict) -> None:
        src.sent[kind] += 1
        dst = self.nodes.get(dst_address)
        if dst is None or not dst.up or self.rng.random() < self.args.loss:
            return
        now = self.round * ROUND_S
        for reply_kind, to, reply in dst.membership.on_message(
            kind, src.address, src.address, body, now
        ):
            self.deliver(reply_kind, dst, to, reply)

    def membership_round(self) -> None:
        self.round += 1
        now = self.round * ROUND_S
        for node in list(self.nodes.values()):
            if node.up:
                for kind, to, body in node.membership.tick(now):
                    self.deliver(kind, node, to, body)

    def push_round(self, holders: dict[str, int], r: int) -> int:
        """Round `r` of the relay rule for the elite; returns the messages sent.

        Elite rounds keep the membership clock still: the table is steady meanwhile.
        """
        messages = 0
        pushes = []
        for node in self.nodes.values():
            if node.up:
                due = node.relay.due()
                if due:
                    pushes.append((node, due))
        for node, due in pushes:
            targets = self.topology.choose(
                node.membership.live(), node.address, self.args.fanout, self.rng
            )
            for to in targets:
                messages += 1
                node.sent["migrants"] += 1
                dst = self.nodes[to]
                if not dst.up or self.rng.random() < self.args.loss:
                    continue
                for key in due:
                    if dst.relay.offer(key, key):
                        holders.setdefault(to, r)
        return messages


def elite_trial(net: SimNetwork) -> dict[str, float]:
    """Rounds for one emitted elite to reach 99% and 100% of the nodes."""
    n = len(net.nodes)
    origin = net.rng.choice(list(net.nodes.values()))
    key = f"elite-{net.rng.random()}"
    holders = {origin.address: 0}
    origin.relay.offer(key, key)
    # Round 1 is the emit itself: the origin pushes at once (Engine._flush_outbox), then
    # every holder relays in its next rounds (Engine._round -> Relay.due).
    r = 1
    messages = 0
    targets = net.topology.choose(
        origin.membership.live(), origin.address, net.args.fanout, net.rng
    )
    for to in targets:
        messages += 1
        if net.rng.random() >= net.args.loss and net.nodes[to].relay.offer(key, key):
            holders.setdefault(to, r)
    busiest = 1
    while True:
        r += 1
        before = Counter({a: node.sent["migrants"] for a, node in net.nodes.items()})
        sent = net.push_round(holders, r)
        if sent == 0:
            break
        messages += sent
        per_node = Counter({a: node.sent["migrants"] for a, node in net.nodes.items()}) - before
        busiest = max(busiest, max(per_node.values(), default=0))
    rounds_to = sorted(holders.values())
    need99 = math.ceil(0.99 * n)
    reached = len(holders)
    active_rounds = r - 1  # the last round sent nothing
    return {
        "r99": rounds_to[need99 - 1] if reached >= need99 else math.inf,
        "r100": rounds_to[-1] if reached == n else math.inf,
        "reached": reached / n,
        "per_node_round": messages / (n * max(active_rounds, 1)),
        "busiest": busiest,
    }


def join_trial(net: SimNetwork) -> dict[str, float]:
    """Rounds until a node started with one seed is alive everywhere and knows everyone."""
    old = [a for a, node in net.nodes.items() if node.up]
    joiner = net.add_node(len(net.nodes) + 1)
    joiner.membership.add_seeds([net.rng.choice(old)], net.round * ROUND_S)
    start = net.round
    known_by_all = knows_all = math.inf
    sent_before = {a: sum(node.sent.values()) for a, node in net.nodes.items()}
    for _ in range(60):
        net.membership_round()
        r = net.round - start
        if known_by_all == math.inf and all(
            net.nodes[a].membership.peer(joiner.address) is not None
            and net.nodes[a].membership.peer(joiner.address).state.value == "alive"
            for a in old
        ):
            known_by_all = r
        if knows_all == math.inf and len(joiner.membership.live()) >= len(old):
            knows_all = r
        if known_by_all < math.inf and knows_all < math.inf:
            break
    rounds = max(net.round - start, 1)
    sent = sum(sum(node.sent.values()) - sent_before.get(a, 0) for a, node in net.nodes.items())
    return {
        "alive_everywhere": known_by_all,
        "knows_everyone": knows_all,
        "per_node_round": sent / (len(net.nodes) * rounds),
    }


def death_trial(net: SimNetwork) -> dict[str, float]:
    """Rounds until every node lists a stopped node dead; false deaths of live peers."""
    victim = net.rng.choice([node for node in net.nodes.values() if node.up])
    victim.up = False
    start = net.round
    for node in net.nodes.values():
        node.membership.drain_events()
    false_deaths = 0
    detected = math.inf
    for _ in range(int(net.args.dead_after / ROUND_S) + 10):
        net.membership_round()
        for node in net.nodes.values():
            if node.up:
                false_deaths += sum(
                    1
                    for e in node.membership.drain_events()
                    if e["event"] == "peer_dead" and e["peer"] != victim.address
                )
        if all(
            node.membership.peer(victim.address).state.value == "dead"
            for node in net.nodes.values()
            if node.up and node is not victim
        ):
            detected = net.round - start
            break
    return {"detected": detected, "false_deaths": false_deaths}


def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    print(
        f"fanout {args.fanout}, relay_rounds {args.relay_rounds}, news_rounds {args.news_rounds}, "
        f"exchange_size {args.exchange_size}, dead_after {args.dead_after} rounds, "
        f"loss {args.loss:.0%}, {args.trials} trials per size, seed {args.seed}\n"
    )
    header = (
        f"{'N':>6} | {'elite r99':>9} {'r100':>6} {'reached':>8} {'msg/node/rnd':>12} "
        f"{'max/node/rnd':>12} | {'join alive':>10} {'knows all':>9} | "
        f"{'death seen':>10} {'false dead':>10} | {'hb msg/node/rnd':>15} {'secs':>6}"
    )
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        t0 = time.perf_counter()
        net = SimNetwork(n, args, rng)
        net.converge()
        elites = [elite_trial(net) for _ in range(args.trials)]
        join = join_trial(net)
        death = death_trial(net)

        def mean(key: str, rows: list[dict[str, float]] = elites) -> float:
            return statistics.fmean(r[key] for r in rows)

        print(
            f"{n:>6} | {mean('r99'):>9.1f} {mean('r100'):>6.1f} {mean('reached'):>8.2%} "
            f"{mean('per_node_round'):>12.2f} {max(r['busiest'] for r in elites):>12.0f} | "
            f"{join['alive_everywhere']:>10} {join['knows_everyone']:>9} | "
            f"{death['detected']:>10} {death['false_deaths']:>10} | "
            f"{join['per_node_round']:>15.1f} {time.perf_counter() - t0:>6.1f}"
        )
        sys.stdout.flush()
    print(
        "\nelite: rounds after the emit until 99% / 100% of nodes hold the elite (mean over "
        "trials);\nmsg/node/rnd: elite messages per node per round while it spreads, max/node/rnd: "
        "most any node sent in one round.\njoin/death: rounds until the change is seen by "
        "every node. hb msg/node/rnd: membership messages\n(heartbeats to every live peer, "
        "probes, replies) per node per round, which grows with N."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--fanout", type=int, default=DEFAULTS.fanout)
    parser.add_argument(
        "--relay-rounds", type=int, default=4, help="the config default is 0 (no relaying)"
    )
    parser.add_argument("--news-rounds", type=int, default=DEFAULTS.news_rounds)
    parser.add_argument("--exchange-size", type=int, default=DEFAULTS.exchange_size)
    parser.add_argument(
        "--dead-after",
        type=float,
        default=DEFAULTS.dead_after / DEFAULTS.heartbeat_interval,
        help="in rounds",
    )
    parser.add_argument("--loss", type=float, default=0.0, help="fraction of messages lost")
    parser.add_argument("--seed", type=int, default=1)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
