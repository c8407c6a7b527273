"""Bounded sets of peer addresses with O(1) add, remove and random choice.

HyParView (Leitao et al. 2007) keeps a small active view and a larger passive
view; both are `SampleSet`s here. A swap-remove list beside an index makes
every operation O(1), so a flood of addresses costs the same per address
whatever the view size (the old peer table scanned itself per address).
"""

from __future__ import annotations

import random
from collections import Counter, OrderedDict
from collections.abc import Iterator


class SampleSet:
    """At most `size` addresses, each with the node id it was reported with, and at most
    `per_introducer` from any one peer that told us of them (issue 41: one peer's flood
    of invented addresses owned 64 of 64 places); "" is this node's own knowledge."""

    def __init__(self, size: int, per_introducer: int | None = None) -> None:
        self.size = size
        self.per_introducer = per_introducer or size
        self._items: list[str] = []
        self._index: dict[str, int] = {}
        self.node_of: dict[str, str] = {}
        self._introducer: dict[str, str] = {}
        self._introduced: Counter[str] = Counter()
        self.refused = 0  # addresses refused because their introducer had its share

    def __contains__(self, address: object) -> bool:
        return address in self._index

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))

    def add(self, address: str, node_id: str, rng: random.Random,
            introducer: str = "") -> str | None:
        """Add (or refresh the id of) `address`; returns the random address evicted to make room."""
        if address in self._index:
            self.node_of[address] = node_id
            return None
        if introducer and self._introduced[introducer] >= self.per_introducer:
            self.refused += 1
            return None
        evicted = None
        if len(self._items) >= self.size:
            evicted = self.random(rng)
            assert evicted is not None
            self.remove(evicted)
        self._index[address] = len(self._items)
        self._items.append(address)
        self.node_of[address] = node_id
        self._introducer[address] = introducer
        if introducer:
            self._introduced[introducer] += 1
        return evicted

    def remove(self, address: str) -> bool:
        i = self._index.pop(address, None)
        if i is None:
            return False
        last = self._items.pop()
        if last != address:
            self._items[i] = last
            self._index[last] = i
        self.node_of.pop(address, None)
        introducer = self._introducer.pop(address, "")
        if introducer:
            self._introduced[introducer] -= 1
            if self._introduced[introducer] <= 0:
                del self._introduced[introducer]
        return True

    def random(self, rng: random.Random) -> str | None:
        return self._items[rng.randrange(len(self._items))] if self._items else None

    def sample(self, k: int, rng: random.Random) -> list[str]:
        return rng.sample(self._items, min(k, len(self._items)))

    def pairs(self, addresses: list[str]) -> list[list[str]]:
        """`[address, node id]` of each address, as a peer sample carries them."""
        return [[a, self.node_of[a]] for a in addresses if a in self.node_of]


class Tombstones:
    """Members known dead, with the incarnation they died at, so old news cannot revive them."""

    def __init__(self, size: int, keep_for: float) -> None:
        self.size = size
        self.keep_for = keep_for
        self._dead: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def bury(self, address: str, incarnation: int, now: float) -> None:
        self._dead.pop(address, None)
        self._dead[address] = (incarnation, now)
        while len(self._dead) > self.size:
            self._dead.popitem(last=False)

    def incarnation(self, address: str, now: float) -> int | None:
        """Incarnation of a dead member (None when not dead or buried too long ago)."""
        entry = self._dead.get(address)
        if entry is None:
            return None
        if now - entry[1] > self.keep_for:
            del self._dead[address]
            return None
        return entry[0]

    def exhume(self, address: str) -> None:
        self._dead.pop(address, None)

    def __contains__(self, address: object) -> bool:
        return address in self._dead

    def __len__(self) -> int:
        return len(self._dead)
