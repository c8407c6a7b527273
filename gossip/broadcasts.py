"""Membership updates waiting to be gossiped, each sent a bounded number of times.

SWIM (Das et al. 2002, section 4.1) piggybacks updates on probes; memberlist's
TransmitLimitedQueue sends each update `retransmit_mult * log10(n + 1)` times,
the least-sent first. One update per address: a newer one replaces an older.
The queue is bounded, and updates about other nodes are dropped before this
node's own refutations, so a flood of news cannot silence a refutation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Update = tuple[str, str, str, int, str]  # (state, address, node id, incarnation, accuser)


@dataclass
class _Queued:
    update: Update
    sent: int
    order: int


class Broadcasts:
    """Bounded, keyed by address; `take(n)` returns the least-sent updates and counts them sent."""

    def __init__(self, self_addr: str, retransmit_mult: int = 4, size: int = 256) -> None:
        self.self_addr = self_addr
        self.retransmit_mult = retransmit_mult
        self.size = size
        self._queue: dict[str, _Queued] = {}
        self._order = 0
        self.dropped = 0

    def queue(self, update: Update) -> None:
        """Gossip `update`, replacing what was queued about the same address."""
        self._order += 1
        self._queue[update[1]] = _Queued(update, 0, self._order)
        if len(self._queue) > self.size:
            victims = [q for a, q in self._queue.items() if a != self.self_addr]
            oldest = max(victims, key=lambda q: (q.sent, -q.order))  # the most-sent, then oldest
            del self._queue[oldest.update[1]]
            self.dropped += 1

    def take(self, n: int, group_size: int) -> list[list]:
        """Up to `n` updates for one message, least-sent first; spent ones leave the queue."""
        if not self._queue or n <= 0:
            return []
        limit = self.retransmit_mult * max(1, math.ceil(math.log10(group_size + 1)))
        chosen = sorted(self._queue.values(), key=lambda q: (q.sent, -q.order))[:n]
        out = []
        for q in chosen:
            q.sent += 1
            out.append(list(q.update if q.update[4] else q.update[:4]))  # accusers: suspicions
            if q.sent >= limit:
                del self._queue[q.update[1]]
        return out

    def urgent(self) -> bool:
        """Suspicions, deaths and this node's own refutations: news that cannot wait for pings."""
        return any(q.update[0] != "alive" or q.update[1] == self.self_addr
                   for q in self._queue.values())

    def pending(self, address: str) -> Update | None:
        q = self._queue.get(address)
        return q.update if q is not None else None

    def __len__(self) -> int:
        return len(self._queue)
