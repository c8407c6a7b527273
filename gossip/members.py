"""This node's side of membership, shared by its views (hyparview.py) and its failure
detector (swim.py): who it is, its neighbours, the dead, its news and what it will send.

Time is whatever clock the caller passes as `now`; nothing here owns a socket.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from gossip.broadcasts import Broadcasts
from gossip.events import PeerChanged
from gossip.probe import ProbeCycle
from gossip.suspicion import Suspicion
from gossip.views import SampleSet, Tombstones

PASSIVE_SHARE = 10  # one introducer's addresses fill at most 1/PASSIVE_SHARE of the passive view


@dataclass(frozen=True)
class Reply:
    """Destination of a reply: back on the connection the request came in on."""

    token: Any  # the ROUTER routing id in the node; the requester's address in the simulator


Send = tuple[str, "str | Reply", dict[str, Any]]


@dataclass
class Member:
    """A neighbour in the active view, as this node believes it to be."""

    address: str
    node_id: str
    incarnation: int = 0
    suspicion: Suspicion | None = None

    @property
    def suspect_since(self) -> float | None:
        return self.suspicion.since if self.suspicion is not None else None


class Local:
    """State both halves of membership read and change; each half owns the rest of its own."""

    def __init__(self, self_addr: str, node_id: str, incarnation: int, passive_size: int,
                 forget_after: float, period: float, rng: random.Random) -> None:
        self.self_addr, self.node_id, self.incarnation = self_addr, node_id, incarnation
        self.period, self.rng = period, rng
        self.active: dict[str, Member] = {}  # HyParView's active view: our neighbours
        # Addresses to repair the active view from; one introducer fills a tenth at most.
        self.passive = SampleSet(passive_size, max(1, passive_size // PASSIVE_SHARE))
        # Addresses that answered us themselves (a reply on our dial, a proven request):
        # the only passive entries this node passes on, so an invention never spreads.
        self.answered: OrderedDict[str, None] = OrderedDict()
        self._answered_size = 4 * passive_size
        self.dead = Tombstones(4 * passive_size, forget_after)
        self.news = Broadcasts(self_addr)  # alive / suspect / dead updates to piggyback
        self.probes = ProbeCycle(period, rng)  # also Lifeguard's awareness, which scales timing
        self.out: list[Send] = []  # sends caused by state changes (disconnects, suspicions)
        self.events: list[PeerChanged] = []
        self.version = 0  # changes whenever the active view or a member's state changes
        self.last_tick: float | None = None

    def event(self, name: str, now: float, address: str, node_id: str, **extra: Any) -> None:
        self.events.append(PeerChanged(time=now, event=name, peer=address, node=node_id, **extra))

    def heard_from(self, address: str) -> None:
        """`address` answered us itself."""
        self.answered.pop(address, None)
        self.answered[address] = None
        while len(self.answered) > self._answered_size:
            self.answered.popitem(last=False)

    def flush(self) -> list[Send]:
        out, self.out = self.out, []
        return out

    def group_size(self) -> int:
        """What this node can see of the network: its views and itself."""
        return len(self.active) + len(self.passive) + 1

    def random_active(self, k: int) -> list[str]:
        return self.rng.sample(list(self.active), min(k, len(self.active)))
