"""Migration topologies: which live peers a node sends its migrants to.

Plain swappable objects (as pagmo's topologies are): the gossip thread and the
spread simulator call the same `choose`, so a topology measured in the benchmark
is the one that runs.
"""

from __future__ import annotations

import bisect
import random
from typing import Protocol


class Topology(Protocol):
    name: str

    def choose(
        self, live_peers: list[str], self_addr: str, fanout: int, rng: random.Random
    ) -> list[str]:
        """Destinations among `live_peers` (never `self_addr`)."""
        ...


class RandomTopology:
    """`fanout` peers drawn afresh each time: the default, spreads fastest and evens out load."""

    name = "random"

    def choose(
        self, live_peers: list[str], self_addr: str, fanout: int, rng: random.Random
    ) -> list[str]:
        candidates = [p for p in live_peers if p != self_addr]
        return rng.sample(candidates, min(fanout, len(candidates)))


class RingTopology:
    """The next `fanout` live peers after this node in sorted address order.

    Every node sorts the same addresses, so the ring needs no coordination;
    diffusion around it is slow on purpose (islands stay diverse for longer).
    """

    name = "ring"

    def choose(
        self, live_peers: list[str], self_addr: str, fanout: int, rng: random.Random
    ) -> list[str]:
        ring = sorted({p for p in live_peers if p != self_addr})
        if not ring:
            return []
        start = bisect.bisect_right(ring, self_addr)
        return [ring[(start + k) % len(ring)] for k in range(min(fanout, len(ring)))]


class FullTopology:
    """Every live peer, whatever the fanout: the fully connected island model."""

    name = "full"

    def choose(
        self, live_peers: list[str], self_addr: str, fanout: int, rng: random.Random
    ) -> list[str]:
        return sorted({p for p in live_peers if p != self_addr})


TOPOLOGIES: dict[str, type[RandomTopology | RingTopology | FullTopology]] = {
    t.name: t for t in (RandomTopology, RingTopology, FullTopology)
}


def make_topology(name: str) -> Topology:
    """The topology called `name`, naming the known ones when it is missing."""
    try:
        return TOPOLOGIES[name]()
    except KeyError:
        known = ", ".join(sorted(TOPOLOGIES))
        raise ValueError(f"unknown topology {name!r}; known: {known}") from None
