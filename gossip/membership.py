"""Membership: SWIM failure detection over HyParView partial views, socket-free.

The gossip thread feeds it what arrives from *proven* senders (the engine has
already checked who sent it, see identity.py) and sends what it plans; the
spread benchmark drives the same class over a simulated network of 10,000
nodes. Time is whatever clock the caller passes as `now`.

- Views (HyParView, Leitao et al. 2007): the active view (`active_size`) holds
  the only peers this node keeps connections to, probes and migrates to; the
  passive view (`passive_size`) holds addresses to repair it from. An address
  enters the active view only from a proven contact: a `join` from a proven
  sender, or a `join_reply` on this node's own connection to that address.
  Peer samples (`shuffle`, join replies, alive news) fill the passive view only.
- Failure detection (SWIM, Das et al. 2002; Lifeguard, Dadgar et al. 2018): one
  active member pinged per period, `indirect_probes` helpers asked when it does
  not answer (probe.py), then suspicion; a suspect that hears of it refutes
  with a higher incarnation; a suspect not refuted within the suspicion timeout
  (`dead_after` x log10 of the view size) is dead. A node that was itself stopped
  that long, or hears of its own death, rejoins its neighbours (`_rejoin`).
- News (alive / suspect / dead with incarnation) rides on pings and acks and,
  while a suspicion, death or refutation is pending, on a `gossip` message to
  `fanout` active members per period (broadcasts.py): per-node traffic is a
  handful of messages per period whatever the network size.
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from gossip.broadcasts import Broadcasts, Update
from gossip.messages import (
    ACK,
    ALIVE,
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
    SUSPECT,
)
from gossip.probe import PROBE_TIMEOUT, ProbeCycle
from gossip.views import SampleSet, Tombstones

PIGGYBACK = 6  # updates riding on one ping or ack
GOSSIP_UPDATES = 16  # updates in one gossip message
SHUFFLE_EVERY = 5  # periods between two passive-view exchanges
SHUFFLE_ACTIVE, SHUFFLE_PASSIVE = 3, 4  # HyParView's ka and kp
RANDOM_WALK, PASSIVE_WALK = 6, 3  # HyParView's ARWL and PRWL: forward-join walk lengths
STRANGER_NEWS = 1  # news of addresses not in any view relayed per period
SLACK = 2  # active-view places beyond active_size kept for peers evicted on our behalf
HEARD = 4096  # newcomer news remembered, so each is relayed once
STALL = 2.0  # periods between two ticks that mean this node itself was stopped
RANK = {ALIVE: 0, SUSPECT: 1, DEAD: 2}  # at equal incarnation, suspect beats alive, dead both


@dataclass(frozen=True)
class Reply:
    """Destination of a reply: back on the connection the request came in on."""

    token: Any  # the ROUTER routing id in the node; the requester's address in the simulator


Send = tuple[str, "str | Reply", dict[str, Any]]


@dataclass
class Member:
    address: str
    node_id: str
    incarnation: int = 0
    suspect_since: float | None = None


@dataclass
class _Relayed:
    """A ping this node sends on behalf of a `ping_req`: ack or nack goes back to `reply_to`."""

    reply_to: Reply
    nonce: str
    deadline: float


class Membership:
    """Active and passive views, probes, suspicion and news of one node."""

    def __init__(
        self, self_addr: str, node_id: str, *, fanout: int = 3, active_size: int = 8,
        passive_size: int = 64, indirect_probes: int = 3, period: float = 1.0,
        dead_after: float = 5.0, forget_after: float = 600.0, incarnation: int = 0,
        rng: random.Random | None = None,
    ) -> None:
        self.self_addr, self.node_id = self_addr, node_id
        self.fanout, self.indirect_probes = fanout, indirect_probes
        self.period, self.dead_after = period, dead_after
        self.rng = rng or random.Random()
        self.incarnation = incarnation
        self.active: dict[str, Member] = {}
        self.active_size = active_size
        self.passive = SampleSet(passive_size)
        self.seeds: set[str] = set()
        self.dead = Tombstones(4 * passive_size, forget_after)
        self.news = Broadcasts(self_addr)
        self.probes = ProbeCycle(period, self.rng)
        self._relayed: dict[str, _Relayed] = {}
        self._joining: dict[str, float] = {}  # address -> when the join attempt expires
        self._stranger_news = STRANGER_NEWS
        self._heard: OrderedDict[tuple[str, int], None] = OrderedDict()  # newcomers relayed
        self._joined = False  # a seed has taken this node into its active view
        self._out: list[Send] = []  # sends caused by state changes (disconnects, suspicions)
        self._next_period: float | None = None
        self._last_tick: float | None = None
        self._last_rejoin: float | None = None
        self._periods = 0
        self._events: list[dict[str, Any]] = []
        self.version = 0  # changes whenever the active view or a member's state changes

    # --- what the caller feeds in -------------------------------------------------

    def add_seeds(self, addresses: list[str], now: float) -> None:
        """Addresses from the peers file: joined first and retried while the node is alone."""
        for address in addresses:
            if address != self.self_addr:
                self.seeds.add(address)
                self.passive.add(address, "", self.rng)

    def tick(self, now: float) -> list[Send]:
        """Run timers; call often. A new protocol period starts every `period` (x awareness)."""
        sends: list[Send] = []
        if self._last_tick is not None and now - self._last_tick > STALL * self.period:
            self._stalled(now - self._last_tick, now)
        self._last_tick = now
        probe = self.probes.current
        if probe and not probe.acked and not probe.indirect_sent and now >= probe.indirect_at:
            self._ask_helpers(probe, sends)
        for nonce, relayed in list(self._relayed.items()):
            if now >= relayed.deadline:
                del self._relayed[nonce]
                sends.append((NACK, relayed.reply_to, {"nonce": relayed.nonce}))
        for address, expires in list(self._joining.items()):
            if now >= expires:  # never answered: rumours that do not answer leave the view
                del self._joining[address]
                # ...unless this node has no neighbour left: a live peer slow to answer
                # (a loaded machine) would then be purged, and with it the way back in.
                if address not in self.seeds and self.active:
                    self.passive.remove(address)
        if self._next_period is not None and now < self._next_period:
            return sends
        self._periods += 1
        self._stranger_news = STRANGER_NEWS
        self._next_period = now + self.probes.scaled(self.period)
        suspect = self.probes.finish()
        if suspect is not None:
            self._suspect(suspect, now)
        self._expire_suspicions(now)
        probe = self.probes.start(list(self.active), now)
        if probe is not None:
            sends.append((PING, probe.target, self._probe_body(probe.nonce)))
        probed = probe.target if probe is not None else None
        for member in self.active.values():  # an ack from a suspect itself clears it
            if member.suspect_since is not None and member.address != probed:
                sends.append((PING, member.address, {"nonce": self.probes.next_nonce("s"),
                                                     "updates": []}))
        if self.news.urgent():  # news of joins rides on pings and acks alone
            for address in self._random_active(self.fanout):
                sends.append((GOSSIP, address, {"updates": self._updates(GOSSIP_UPDATES)}))
        if self._periods % SHUFFLE_EVERY == 0 and self.active:
            sends.append((SHUFFLE, self._random_active(1)[0], {"peers": self._sample(True)}))
        self._repair(now, sends)
        return sends

    def on_request(
        self, kind: str, address: str, node_id: str, body: dict[str, Any], now: float,
        reply_to: Reply,
    ) -> list[Send]:
        """A request from a proven sender at `address`; returns the replies and sends it causes."""
        if address == self.self_addr:
            return []
        if kind == PING:
            self._apply(body["updates"], now)
            return [(ACK, reply_to, self._probe_body(body["nonce"]))]
        if kind == PING_REQ:
            target, target_id = body["target"]
            nonce = self.probes.next_nonce("r")
            deadline = now + self.probes.scaled(self.period * PROBE_TIMEOUT)
            self._relayed[nonce] = _Relayed(reply_to, body["nonce"], deadline)
            return [(PING, target, {"nonce": nonce, "updates": []})]
        if kind == JOIN:
            return [self._answer_join(address, node_id, body, now, reply_to), *self._flush()]
        if kind == FORWARD_JOIN:
            return self._forward_join(address, body["peer"], body["ttl"])
        if kind == DISCONNECT:
            self._drop(address, now, "disconnect")
            instead = body["instead"]
            if instead and instead[0] not in self.active and instead[0] != self.self_addr:
                # The newcomer that took our place: joining it keeps the graph connected.
                self._joining[instead[0]] = now + self.probes.scaled(2 * self.period)
                return [(JOIN, instead[0], self._join_body(replace=True))]
        elif kind == SHUFFLE:
            reply = {"peers": self._sample(False, len(body["peers"]))}
            self._learn(body["peers"])
            return [(SHUFFLE_REPLY, reply_to, reply)]
        elif kind == GOSSIP:
            self._apply(body["updates"], now)
        return self._flush()

    def on_reply(
        self, kind: str, address: str, node_id: str, body: dict[str, Any], now: float
    ) -> list[Send]:
        """A reply that came back on this node's own connection to `address` (so it is proven)."""
        probe = self.probes.current
        if kind == ACK:
            self._apply(body["updates"], now)
            relayed = self._relayed.pop(body["nonce"], None)
            if relayed is not None:
                return [(ACK, relayed.reply_to, {"nonce": relayed.nonce, "updates": []})]
            if probe is not None and body["nonce"] == probe.nonce:
                probe.acked = True
            member = self.active.get(address)
            if member is not None and member.suspect_since is not None:
                member.suspect_since = None  # it answered us itself: no rumour outweighs that
                self.version += 1
        elif kind == NACK:
            if probe is not None and body["nonce"] == probe.nonce:
                probe.nacks += 1
        elif kind == JOIN_REPLY:
            self._joining.pop(address, None)
            self._joined = self._joined or address in self.seeds  # a seed answered: we are in
            if not body["accepted"] and address in self.active:
                self._drop(address, now, "refused")  # a link only we still believed in
            room = address in self.active or len(self.active) < self.active_size
            if body["accepted"] and (room or address in self.seeds):
                # A seed's link is kept even by a full view (one of ours is asked to join the
                # seed instead): it ties nodes that filled up among themselves to the network.
                self._admit(address, node_id, body["incarnation"], now)
            elif body["accepted"]:  # filled up meanwhile: undo its half of the link
                return [(DISCONNECT, address, {"instead": []})]
            self._learn(body["peers"])
        elif kind == SHUFFLE_REPLY:
            self._learn(body["peers"])
        return self._flush()

    # --- what the caller reads ----------------------------------------------------

    def live(self) -> list[str]:
        """The active view: members not declared dead, this node's neighbours."""
        return list(self.active)

    def known(self) -> list[str]:
        return list(self.active) + list(self.passive)

    def member(self, address: str) -> Member | None:
        return self.active.get(address)

    def node_of(self, address: str) -> str | None:
        member = self.active.get(address)
        return member.node_id if member else self.passive.node_of.get(address) or None

    def counts(self) -> dict[str, int]:
        suspects = sum(m.suspect_since is not None for m in self.active.values())
        return {"alive": len(self.active) - suspects, "suspect": suspects,
                "passive": len(self.passive), "dead": len(self.dead)}

    def group_size(self) -> int:
        """What this node can see of the network: its views and itself."""
        return len(self.active) + len(self.passive) + 1

    def suspicion_timeout(self) -> float:
        """Lifeguard/memberlist: suspicion_mult x log10(N) periods; `dead_after` at N <= 10."""
        return self.dead_after * max(1.0, math.log10(self.group_size()))

    def drain_events(self) -> list[dict[str, Any]]:
        events, self._events = self._events, []
        return events

    # --- views --------------------------------------------------------------------

    def _answer_join(self, address: str, node_id: str, body: dict[str, Any], now: float,
                     reply_to: Reply) -> Send:
        full = len(self.active) >= self.active_size
        # HyParView's priority: a node with few neighbours is taken in, evicting one of ours
        # (told to join the newcomer instead, so the eviction cannot cut the graph).
        needy = body["neighbours"] < max(1, self.active_size // 2)
        # A peer evicted to make room for us may exceed the view by a little (it keeps the
        # path between the two sides); the slack closes as members come and go.
        replacing = body["replace"] and len(self.active) < self.active_size + SLACK
        accept = address in self.active or not full or needy or replacing
        if accept:
            new = address not in self.active
            self._admit(address, node_id, body["incarnation"], now, evict=not replacing)
            if new and body["neighbours"] == 0:  # a newcomer: random walks give it far neighbours
                walk = {"peer": [address, node_id], "ttl": RANDOM_WALK}
                self._out += [(FORWARD_JOIN, a, walk) for a in self.active if a != address]
        reply = {"accepted": accept, "peers": self._sample(False),
                 "incarnation": self.incarnation}
        return (JOIN_REPLY, reply_to, reply)

    def _forward_join(self, sender: str, peer: list[str], ttl: int) -> list[Send]:
        """HyParView's FORWARD_JOIN: at the walk's end, ask the newcomer to be our neighbour."""
        address, node_id = peer
        if address == self.self_addr or address in self.active:
            return []
        room = len(self.active) < self.active_size
        if room and (ttl <= 0 or len(self.active) <= 1):
            if address in self._joining:
                return []
            self._joining[address] = (self._last_tick or 0.0) + self.probes.scaled(2 * self.period)
            return [(JOIN, address, self._join_body())]
        if ttl == PASSIVE_WALK:
            self._learn([peer])
        onward = [a for a in self.active if a not in (sender, address)]
        if not onward or ttl <= 0:  # a full node ends the walk rather than evict for it
            return []
        return [(FORWARD_JOIN, self.rng.choice(onward), {"peer": peer, "ttl": ttl - 1})]

    def _flush(self) -> list[Send]:
        out, self._out = self._out, []
        return out

    def _admit(
        self, address: str, node_id: str, incarnation: int, now: float, evict: bool = True
    ) -> None:
        """Put a proven peer in the active view, evicting a random one when full."""
        member = self.active.get(address)
        if member is not None:
            if member.node_id != node_id:  # the address now runs another node
                member.node_id, member.suspect_since = node_id, None
            if incarnation > member.incarnation:
                member.incarnation, member.suspect_since = incarnation, None
            return
        returned = address in self.dead
        self.dead.exhume(address)
        self.passive.remove(address)
        if evict and len(self.active) >= self.active_size:
            evicted = self.rng.choice(list(self.active))
            self._drop(evicted, now, "evicted")
            self._out.append((DISCONNECT, evicted, {"instead": [address, node_id]}))
        self.active[address] = Member(address, node_id, incarnation)
        self._joined = self._joined or address in self.seeds
        self.news.queue((ALIVE, address, node_id, incarnation))
        self.version += 1
        self._event("peer_returned" if returned else "peer_joined", now, address, node_id)

    def _drop(self, address: str, now: float, why: str) -> None:
        member = self.active.pop(address, None)
        if member is None:
            return
        self.passive.add(address, member.node_id, self.rng)
        self.version += 1
        self._event("peer_left", now, address, member.node_id, reason=why)

    def _repair(self, now: float, sends: list[Send]) -> None:
        """Ask a passive peer to join when the active view is short (HyParView's NEIGHBOR)."""
        sends += self._flush()
        seeds = [a for a in self.seeds if a not in self._joining]
        if not self._joined and seeds and not any(a in self.seeds for a in self._joining):
            # Until a seed took it in, a node has not joined the network: peers that found
            # it first may be as new as itself (nodes started together would stay apart).
            address = self.rng.choice(seeds)
            self._joining[address] = now + self.probes.scaled(2 * self.period)
            sends.append((JOIN, address, {**self._join_body(), "neighbours": 0}))
        wanted = 1 if self.active else 3
        if len(self.active) >= self.active_size or len(self._joining) >= wanted:
            return
        if not self.passive and not self.active:
            for seed in self.seeds:
                self.passive.add(seed, "", self.rng)
        candidates = [a for a in self.passive.sample(wanted, self.rng) if a not in self._joining]
        for address in candidates[: wanted - len(self._joining)]:
            self._joining[address] = now + self.probes.scaled(2 * self.period)
            sends.append((JOIN, address, self._join_body()))

    def _join_body(self, replace: bool = False) -> dict[str, Any]:
        return {"neighbours": len(self.active), "incarnation": self.incarnation,
                "replace": replace}

    def _learn(self, peers: list[list[str]]) -> None:
        for address, node_id in peers:
            if address == self.self_addr or address in self.active or address in self.dead:
                continue
            self.passive.add(address, node_id, self.rng)

    def _sample(self, with_self: bool, size: int | None = None) -> list[list[str]]:
        active = self._random_active(SHUFFLE_ACTIVE)
        pairs = [[a, self.active[a].node_id] for a in active]
        pairs += self.passive.pairs(self.passive.sample(SHUFFLE_PASSIVE, self.rng))
        if with_self:
            pairs.insert(0, [self.self_addr, self.node_id])
        pairs = [p for p in pairs if p[1]]  # seeds not yet heard from have no id to offer
        return pairs[:size] if size is not None else pairs

    def _random_active(self, k: int) -> list[str]:
        return self.rng.sample(list(self.active), min(k, len(self.active)))

    # --- failure detection --------------------------------------------------------

    def _probe_body(self, nonce: str) -> dict[str, Any]:
        return {"nonce": nonce, "updates": self._updates(PIGGYBACK)}

    def _updates(self, n: int) -> list[list]:
        return self.news.take(n, self.group_size())

    def _ask_helpers(self, probe: Any, sends: list[Send]) -> None:
        probe.indirect_sent = True
        member = self.active.get(probe.target)
        helpers = [a for a in self.active if a != probe.target]
        helpers = self.rng.sample(helpers, min(self.indirect_probes, len(helpers)))
        probe.nacks_expected = len(helpers)
        target = [probe.target, member.node_id if member else ""]
        for helper in helpers:
            sends.append((PING_REQ, helper, {"nonce": probe.nonce, "target": target}))

    def _suspect(self, address: str, now: float) -> None:
        member = self.active.get(address)
        if member is None or member.suspect_since is not None:
            return
        member.suspect_since = now
        self.version += 1
        update = (SUSPECT, address, member.node_id, member.incarnation)
        self.news.queue(update)
        self._out.append((GOSSIP, address, {"updates": [list(update)]}))  # so it can refute
        self._event("peer_suspect", now, address, member.node_id)

    def _expire_suspicions(self, now: float) -> None:
        timeout = self.suspicion_timeout()
        for member in list(self.active.values()):
            if member.suspect_since is not None and now - member.suspect_since >= timeout:
                self._declare_dead(member, now)

    def _declare_dead(self, member: Member, now: float) -> None:
        del self.active[member.address]
        self.dead.bury(member.address, member.incarnation, now)
        self.news.queue((DEAD, member.address, member.node_id, member.incarnation))
        self.version += 1
        silent = now - (member.suspect_since if member.suspect_since is not None else now)
        self._event("peer_dead", now, member.address, member.node_id, suspected_for=silent)

    def _stalled(self, gap: float, now: float) -> None:
        """This node was not running (SIGSTOP, swap): its timers saw time its peers did not."""
        if gap >= self.suspicion_timeout():
            self._rejoin(now)  # long enough for its neighbours to have declared it dead
        self.probes.cancel()
        self.probes.adjust(+1)
        for member in self.active.values():
            if member.suspect_since is not None:
                member.suspect_since += gap
        if self._next_period is not None:
            self._next_period += gap

    def _rejoin(self, now: float) -> None:
        """Ask every neighbour to take this node in again, at most once per suspicion timeout.

        A neighbour that declared this node dead dropped it from its active view, while
        this node, stopped meanwhile or merely slow, still holds the link: it would keep a
        one-sided view for good (pings are answered, so nothing here is ever suspected).
        A JOIN to a neighbour that still holds it changes nothing; one that refuses is
        dropped (`on_reply`), and the view is repaired from the passive view as usual.
        """
        if self._last_rejoin is not None and now - self._last_rejoin < self.suspicion_timeout():
            return  # a rogue repeating news of our death must not make us churn every period
        self._last_rejoin = now
        expires = now + self.probes.scaled(2 * self.period)
        for address in self.active:
            if address not in self._joining:
                self._joining[address] = expires
                self._out.append((JOIN, address, self._join_body()))

    def _apply(self, updates: list[Update], now: float) -> None:
        for state, address, node_id, incarnation in updates:
            if address == self.self_addr:
                if state == DEAD:
                    self._rejoin(now)
                self._about_self(state, incarnation)
            elif state == ALIVE:
                self._alive(address, node_id, incarnation)
            else:
                self._not_alive(state, address, node_id, incarnation, now)

    def _about_self(self, state: str, incarnation: int) -> None:
        """SWIM's refutation: a live node suspected (or declared dead) outbids the rumour."""
        if state != ALIVE and incarnation >= self.incarnation:
            self.incarnation = incarnation + 1
            update = (ALIVE, self.self_addr, self.node_id, self.incarnation)
            self.news.queue(update)
            # Whoever suspects us holds us in its active view, as we hold it in ours: tell
            # every neighbour at once rather than wait for the epidemic to find them.
            self._out += [(GOSSIP, a, {"updates": [list(update)]}) for a in self.active]
            self.probes.adjust(+1)  # Lifeguard: being suspected hints that we are the slow one

    def _alive(self, address: str, node_id: str, incarnation: int) -> None:
        member = self.active.get(address)
        if member is not None:
            if incarnation > member.incarnation:
                member.incarnation = incarnation
                if member.suspect_since is not None:
                    member.suspect_since = None
                    self.version += 1
                self.news.queue((ALIVE, address, node_id, incarnation))
            return
        buried = self.dead.incarnation(address, now=self._last_tick or 0.0)
        if buried is not None and incarnation <= buried:
            return
        pending = self.news.pending(address)
        if pending is not None and pending[0] != ALIVE and incarnation > pending[3]:
            self.news.queue((ALIVE, address, node_id, incarnation))  # carry the refutation on
        elif (address, incarnation) not in self._heard and self._stranger_news > 0:
            # News of a newcomer travels on (SWIM's join dissemination), so passive views
            # sample the whole network; a budget per period keeps a flood from owning them.
            self._stranger_news -= 1
            self._heard[(address, incarnation)] = None
            if len(self._heard) > HEARD:
                self._heard.popitem(last=False)
            self.news.queue((ALIVE, address, node_id, incarnation))
        self.passive.add(address, node_id, self.rng)

    def _not_alive(self, state: str, address: str, node_id: str, incarnation: int,
                   now: float) -> None:
        member = self.active.get(address)
        if member is not None:
            if incarnation < member.incarnation:
                return
            if member.suspect_since is not None and state == DEAD:
                self._declare_dead(member, now)
            elif member.suspect_since is None:
                member.incarnation = incarnation
                self._suspect(address, now)  # our own timer decides, and the suspect may refute
            return
        buried = self.dead.incarnation(address, now)
        pending = self.news.pending(address)
        if buried is not None and incarnation <= buried:
            return
        if pending is not None and (pending[3], RANK[pending[0]]) >= (incarnation, RANK[state]):
            return
        if state == DEAD:
            self.passive.remove(address)
            self.dead.bury(address, incarnation, now)
        self.news.queue((state, address, node_id, incarnation))

    def _event(self, name: str, now: float, address: str, node_id: str, **extra: Any) -> None:
        self._events.append({"event": name, "t": now, "peer": address, "node": node_id, **extra})
