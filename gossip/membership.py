"""Membership: SWIM failure detection over HyParView partial views, socket-free.

The gossip thread feeds it what arrives from *proven* senders (the engine has
already checked who sent it, see identity.py) and sends what it plans; the
spread benchmark drives the same class over a simulated network of 10,000
nodes. Time is whatever clock the caller passes as `now`.

Two halves share this node's state (members.py, `Local`):
- the views (hyparview.py, HyParView, Leitao et al. 2007): a small active view
  of neighbours, a larger passive view to repair it from, joins, shuffles;
- failure detection (swim.py, SWIM, Das et al. 2002; Lifeguard, Dadgar et al.
  2018): probes, suspicion, refutation, death, and the news that carries them,
  a handful of messages per node per period whatever the network size.
This class runs their timers, routes each message to the half it is for and answers
what a caller reads (its views, counts and news); the state itself is `local`, read
directly for anything else (version, probes, the active view's members).
"""

from __future__ import annotations

import random
from typing import Any

from gossip.events import PeerChanged
from gossip.hyparview import Views
from gossip.joins import Joins
from gossip.members import Local, Member, Reply, Send
from gossip.messages import (
    ACK,
    DEAD,
    DISCONNECT,
    FORWARD_JOIN,
    GOSSIP,
    JOIN,
    JOIN_REPLY,
    NACK,
    PING,
    PING_REQ,
    SHUFFLE,
    SHUFFLE_REPLY,
)
from gossip.swim import Detector
from gossip.verdicts import Verdicts
from gossip.views import SampleSet

SHUFFLE_EVERY = 5  # periods between two passive-view exchanges
STALL = 2.0  # periods between two ticks that mean this node itself was stopped

__all__ = ["Member", "Membership", "Reply", "Send"]


class Membership:
    """Active and passive views, probes, suspicion and news of one node."""

    def __init__(
        self, self_addr: str, node_id: str, *, fanout: int = 3, active_size: int = 8,
        passive_size: int = 64, indirect_probes: int = 3, period: float = 1.0,
        dead_after: float = 5.0, forget_after: float = 600.0, incarnation: int = 0,
        rng: random.Random | None = None,
    ) -> None:
        self.local = Local(self_addr, node_id, incarnation, passive_size, forget_after, period,
                           rng or random.Random())
        self.joins = Joins(self.local)
        self.views = Views(self.local, self.joins, active_size)
        self.verdicts = Verdicts(self.local, self.joins, dead_after)
        self.detector = Detector(self.local, self.verdicts, fanout, indirect_probes)
        self._next_period: float | None = None
        self._periods = 0

    # --- what the caller feeds in -------------------------------------------------

    def add_seeds(self, addresses: list[str], now: float) -> None:
        """Addresses from the peers file: joined first and retried while the node is alone."""
        self.joins.add_seeds(addresses)

    def rename(self, old: str, new: str) -> None:
        """A seed or rumour dialled as `old` turned out to advertise `new` (same endpoint)."""
        self.joins.rename(old, new)
        node_id = self.local.passive.node_of.get(old, "")
        if self.local.passive.remove(old) and new not in self.local.active:
            self.local.passive.add(new, node_id, self.local.rng)

    def tick(self, now: float) -> list[Send]:
        """Run timers; call often. A new protocol period starts every `period` (x awareness)."""
        local, sends = self.local, []
        if local.last_tick is not None and now - local.last_tick > STALL * local.period:
            gap = now - local.last_tick
            self.detector.stalled(gap, now)
            if self._next_period is not None:
                self._next_period += gap
        local.last_tick = now
        self.detector.timers(now, sends)
        self.joins.expire(now)
        if self._next_period is not None and now < self._next_period:
            return sends
        self._periods += 1
        self._next_period = now + local.probes.scaled(local.period)
        self.detector.period(now, sends)
        if self._periods % SHUFFLE_EVERY == 0:
            shuffle = self.views.shuffle()
            if shuffle is not None:
                sends.append(shuffle)
        sends += local.flush()
        self.views.repair(now, sends)
        return sends

    def connection_dropped(self, address: str, now: float) -> list[Send]:
        """Our TCP connection to `address` dropped: a hint to probe it now (swim.py)."""
        sends: list[Send] = []
        self.detector.connection_dropped(address, now, sends)
        return sends + self.local.flush()

    def leave(self) -> list[Send]:
        """Goodbye to every neighbour: news of this node's own death, which they believe at
        once from this node alone (`Verdicts.apply`), so none spends a suspicion timeout on
        it or sends it migrants meanwhile; it spreads on from them as any death does."""
        local = self.local
        goodbye = [DEAD, local.self_addr, local.node_id, local.incarnation]
        return [(GOSSIP, address, {"updates": [goodbye]}) for address in local.active]

    def on_request(
        self, kind: str, address: str, node_id: str, body: dict[str, Any], now: float,
        reply_to: Reply,
    ) -> list[Send]:
        """A request from a proven sender at `address`; returns the replies and sends it causes."""
        if address == self.local.self_addr:
            return []
        self.local.heard_from(address)  # proven: it may be passed on in peer samples
        if kind == PING:
            return self.detector.on_ping(body, now, reply_to, address)
        if kind == PING_REQ:
            return self.detector.on_ping_req(body, now, reply_to)
        if kind == JOIN:
            return [self.views.answer_join(address, node_id, body, now, reply_to),
                    *self.local.flush()]
        if kind == FORWARD_JOIN:
            return self.views.forward_join(address, body["peer"], body["ttl"])
        sends: list[Send] = []
        if kind == DISCONNECT:
            sends = self.views.on_disconnect(address, body, now)
        elif kind == SHUFFLE:
            reply = {"peers": self.views.sample(False, len(body["peers"]))}
            self.views.learn(body["peers"], address)
            sends = [(SHUFFLE_REPLY, reply_to, reply)]
        elif kind == GOSSIP:
            self.verdicts.apply(body["updates"], now, sender=address)
        return sends + self.local.flush()

    def on_reply(
        self, kind: str, address: str, node_id: str, body: dict[str, Any], now: float
    ) -> list[Send]:
        """A reply that came back on this node's own connection to `address` (so it is proven)."""
        self.local.heard_from(address)
        sends: list[Send] = []
        if kind == ACK:
            sends = self.detector.on_ack(address, body, now)
            if sends:  # an ack relayed for a ping_req goes back at once
                return sends
        elif kind == NACK:
            self.detector.on_nack(body)
        elif kind == JOIN_REPLY:
            sends = self.views.on_join_reply(address, node_id, body, now)
        elif kind == SHUFFLE_REPLY:
            self.views.learn(body["peers"], address)
        return sends + self.local.flush()

    # --- what a caller reads ------------------------------------------------------

    @property
    def self_addr(self) -> str:
        return self.local.self_addr

    @property
    def node_id(self) -> str:
        return self.local.node_id

    @property
    def incarnation(self) -> int:
        return self.local.incarnation

    @property
    def passive(self) -> SampleSet:
        return self.local.passive

    def live(self) -> list[str]:
        """The active view: members not declared dead, this node's neighbours."""
        return list(self.local.active)

    def known(self) -> list[str]:
        return list(self.local.active) + list(self.local.passive)

    def member(self, address: str) -> Member | None:
        return self.local.active.get(address)

    def node_of(self, address: str) -> str | None:
        member = self.local.active.get(address)
        return member.node_id if member else self.local.passive.node_of.get(address) or None

    def counts(self) -> dict[str, int]:
        active = self.local.active
        suspects = sum(m.suspect_since is not None for m in active.values())
        return {"alive": len(active) - suspects, "suspect": suspects,
                "passive": len(self.local.passive), "dead": len(self.local.dead)}

    def drain_events(self) -> list[PeerChanged]:
        """Peer changes since the last call, stamped with the membership clock."""
        events, self.local.events = self.local.events, []
        return events
