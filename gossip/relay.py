"""The relay rule of push gossip: push each new item on for a few rounds, then let it rest.

A node that receives an item it has not seen before pushes it to `fanout`
peers in each of its next `rounds` rounds (Demers et al. 1987, rumour
mongering with a fixed count). With fanout f the chance that a node is never
reached is about exp(-f * rounds) (the infect-and-die bound), so fanout 3 and
4 rounds miss a node of a 1,000-node network with probability ~1e-5 per item.
Load per node per round is at most one batch per destination, whatever the
network size. Used for migrants (`relay_rounds`), over the active view; the
spread benchmark drives this same class. (Membership news has its own
transmit-limited queue, broadcasts.py.)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Relay(Generic[T]):
    """Seen set (bounded, oldest forgotten first) plus the items still being pushed."""

    def __init__(self, rounds: int, max_active: int, max_seen: int = 4096) -> None:
        self.rounds = rounds
        self.max_active = max_active
        self.max_seen = max_seen
        self._seen: OrderedDict[Hashable, None] = OrderedDict()
        self._active: OrderedDict[Hashable, list] = OrderedDict()  # key -> [item, rounds left]
        self.evicted = 0  # items dropped before their rounds were over (too many at once)

    def offer(self, key: Hashable, item: T) -> bool:
        """Record `item`; True when it is new, and then it is pushed in the next rounds."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self.max_seen:
            self._seen.popitem(last=False)
        if self.rounds > 0 and self.max_active > 0:
            self._active[key] = [item, self.rounds]
            while len(self._active) > self.max_active:
                self._active.popitem(last=False)
                self.evicted += 1
        return True

    def seen(self, key: Hashable) -> bool:
        return key in self._seen

    def forget(self, key: Hashable) -> None:
        """Let `key` be news again (a peer that died and may return)."""
        self._seen.pop(key, None)
        self._active.pop(key, None)

    def due(self) -> list[T]:
        """Items to push this round, newest last; call once per round."""
        items = []
        for key in list(self._active):
            entry = self._active[key]
            items.append(entry[0])
            entry[1] -= 1
            if entry[1] <= 0:
                del self._active[key]
        return items

    @property
    def active(self) -> int:
        return len(self._active)
