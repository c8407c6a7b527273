"""This node's own join attempts, and the seeds it must reach first (HyParView's JOIN).

A node joins through the seeds of its peers file until one of them takes it in
(nodes started together would otherwise find only each other), then through
passive peers whenever its active view is short, and through every neighbour
when it must rejoin. Each attempt waits a couple of periods for its
`join_reply`; one never answered expires, and a rumoured address that never
answered leaves the passive view.
"""

from __future__ import annotations

from typing import Any

from gossip.members import Local, Send
from gossip.messages import JOIN


class Joins:
    """Pending join attempts (address -> expiry), the seeds, and whether a seed took us in."""

    def __init__(self, local: Local) -> None:
        self.local = local
        self.seeds: set[str] = set()
        self.pending: dict[str, float] = {}  # address -> when the attempt expires
        self.joined = False  # a seed has taken this node into its active view

    def add_seeds(self, addresses: list[str]) -> None:
        """Addresses from the peers file: joined first and retried while the node is alone."""
        for address in addresses:
            if address != self.local.self_addr:
                self.seeds.add(address)
                self.local.passive.add(address, "", self.local.rng)

    def ask(self, address: str, now: float, replace: bool = False,
            **body: Any) -> Send:
        """A JOIN to `address`, awaited until it expires; `body` overrides the usual fields."""
        self.pending[address] = now + self.local.probes.scaled(2 * self.local.period)
        return (JOIN, address, {"neighbours": len(self.local.active),
                                "incarnation": self.local.incarnation, "replace": replace,
                                **body})

    def rename(self, old: str, new: str) -> None:
        """The node at `old` advertises `new`: the seed and any join awaited take that name."""
        if old in self.seeds:
            self.seeds.discard(old)
            self.seeds.add(new)
        if old in self.pending:
            self.pending[new] = self.pending.pop(old)

    def answered(self, address: str) -> None:
        self.pending.pop(address, None)
        self.note_linked(address)

    def note_linked(self, address: str) -> None:
        """`address` is now a neighbour (or answered us): a seed means we are in."""
        self.joined = self.joined or address in self.seeds

    def expire(self, now: float) -> None:
        """Joins never answered: rumours that do not answer leave the passive view..."""
        for address, expires in list(self.pending.items()):
            if now >= expires:
                del self.pending[address]
                # ...unless this node has no neighbour left: a live peer slow to answer
                # (a loaded machine) would then be purged, and with it the way back in.
                if address not in self.seeds and self.local.active:
                    self.local.passive.remove(address)

    def through_seeds(self, now: float, sends: list[Send]) -> None:
        """Until a seed took it in, a node has not joined the network: peers that found it
        first may be as new as itself. One seed at a time is asked, as a newcomer."""
        seeds = [a for a in self.seeds if a not in self.pending]
        if not self.joined and seeds and not any(a in self.seeds for a in self.pending):
            sends.append(self.ask(self.local.rng.choice(seeds), now, neighbours=0))

    def rejoin(self, now: float) -> None:
        """Ask every neighbour to take this node in again (verdicts.py decides when).

        A neighbour that declared this node dead dropped it from its active view, while
        this node, stopped meanwhile or merely slow, still holds the link: it would keep a
        one-sided view for good (pings are answered, so nothing here is ever suspected).
        A JOIN to a neighbour that still holds it changes nothing; one that refuses is
        dropped (`Views.on_join_reply`), and the view is repaired as usual.
        """
        for address in self.local.active:
            if address not in self.pending:
                self.local.out.append(self.ask(address, now))
