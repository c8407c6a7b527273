"""HyParView's views (Leitao et al. 2007): who this node keeps links to, and where it
repairs them from.

The active view (`active_size`) holds the only peers this node keeps
connections to, probes and migrates to; the passive view holds addresses to
repair it from. An address enters the active view only from a proven contact:
a `join` from a proven sender, or a `join_reply` on this node's own connection
to that address. Peer samples (`shuffle`, join replies, alive news) fill the
passive view only.
"""

from __future__ import annotations

from typing import Any

from gossip.joins import Joins
from gossip.members import Local, Member, Reply, Send
from gossip.messages import ALIVE, DISCONNECT, FORWARD_JOIN, JOIN_REPLY, SHUFFLE

SHUFFLE_ACTIVE, SHUFFLE_PASSIVE = 3, 4  # HyParView's ka and kp
RANDOM_WALK, PASSIVE_WALK = 6, 3  # HyParView's ARWL and PRWL: forward-join walk lengths
SLACK = 2  # active-view places beyond active_size kept for peers evicted on our behalf


class Views:
    """Joins, forward joins, shuffles, disconnects and repair of the active view."""

    def __init__(self, local: Local, joins: Joins, active_size: int) -> None:
        self.local, self.joins, self.active_size = local, joins, active_size

    # --- requests and replies -----------------------------------------------------

    def answer_join(self, address: str, node_id: str, body: dict[str, Any], now: float,
                    reply_to: Reply) -> Send:
        local = self.local
        full = len(local.active) >= self.active_size
        # HyParView's priority: a node with few neighbours is taken in, evicting one of ours
        # (told to join the newcomer instead, so the eviction cannot cut the graph).
        needy = body["neighbours"] < max(1, self.active_size // 2)
        # A peer evicted to make room for us may exceed the view by a little (it keeps the
        # path between the two sides); the slack closes as members come and go.
        replacing = body["replace"] and len(local.active) < self.active_size + SLACK
        accept = address in local.active or not full or needy or replacing
        if accept:
            new = address not in local.active
            self.admit(address, node_id, body["incarnation"], now, evict=not replacing)
            if new and body["neighbours"] == 0:  # a newcomer: random walks give it far neighbours
                walk = {"peer": [address, node_id], "ttl": RANDOM_WALK}
                local.out += [(FORWARD_JOIN, a, walk) for a in local.active if a != address]
        reply = {"accepted": accept, "peers": self.sample(False),
                 "incarnation": local.incarnation}
        return (JOIN_REPLY, reply_to, reply)

    def forward_join(self, sender: str, peer: list[str], ttl: int) -> list[Send]:
        """HyParView's FORWARD_JOIN: at the walk's end, ask the newcomer to be our neighbour."""
        local = self.local
        address, _ = peer
        if address == local.self_addr or address in local.active:
            return []
        room = len(local.active) < self.active_size
        if room and (ttl <= 0 or len(local.active) <= 1):
            if address in self.joins.pending:
                return []
            return [self.joins.ask(address, local.last_tick or 0.0)]
        if ttl == PASSIVE_WALK:
            self.learn([peer], sender)
        onward = [a for a in local.active if a not in (sender, address)]
        if not onward or ttl <= 0:  # a full node ends the walk rather than evict for it
            return []
        return [(FORWARD_JOIN, local.rng.choice(onward), {"peer": peer, "ttl": ttl - 1})]

    def on_disconnect(self, address: str, body: dict[str, Any], now: float) -> list[Send]:
        self.drop(address, now, "disconnect")
        instead = body["instead"]
        if instead and instead[0] not in self.local.active and instead[0] != self.local.self_addr:
            # The newcomer that took our place: joining it keeps the graph connected.
            return [self.joins.ask(instead[0], now, replace=True)]
        return []

    def on_join_reply(self, address: str, node_id: str, body: dict[str, Any],
                      now: float) -> list[Send]:
        local = self.local
        self.joins.answered(address)  # a seed answered: we are in
        if not body["accepted"] and address in local.active:
            self.drop(address, now, "refused")  # a link only we still believed in
        room = address in local.active or len(local.active) < self.active_size
        if body["accepted"] and (room or address in self.joins.seeds):
            # A seed's link is kept even by a full view (one of ours is asked to join the
            # seed instead): it ties nodes that filled up among themselves to the network.
            self.admit(address, node_id, body["incarnation"], now)
        elif body["accepted"]:  # filled up meanwhile: undo its half of the link
            return [(DISCONNECT, address, {"instead": []})]
        self.learn(body["peers"], address)
        return []

    def shuffle(self) -> Send | None:
        """A passive-view exchange with a random neighbour (HyParView's SHUFFLE)."""
        if not self.local.active:
            return None
        return (SHUFFLE, self.local.random_active(1)[0], {"peers": self.sample(True)})

    # --- the views ----------------------------------------------------------------

    def admit(
        self, address: str, node_id: str, incarnation: int, now: float, evict: bool = True
    ) -> None:
        """Put a proven peer in the active view, evicting a random one when full."""
        local = self.local
        member = local.active.get(address)
        if member is not None:
            if member.node_id != node_id:  # the address now runs another node
                member.node_id, member.suspicion = node_id, None
            if incarnation > member.incarnation:
                member.incarnation, member.suspicion = incarnation, None
            return
        returned = address in local.dead
        local.dead.exhume(address)
        local.passive.remove(address)
        if evict and len(local.active) >= self.active_size:
            evicted = local.rng.choice(list(local.active))
            self.drop(evicted, now, "evicted")
            local.out.append((DISCONNECT, evicted, {"instead": [address, node_id]}))
        local.active[address] = Member(address, node_id, incarnation)
        self.joins.note_linked(address)
        local.news.queue((ALIVE, address, node_id, incarnation, ""))
        local.version += 1
        local.event("peer_returned" if returned else "peer_joined", now, address, node_id)

    def drop(self, address: str, now: float, why: str) -> None:
        member = self.local.active.pop(address, None)
        if member is None:
            return
        self.local.passive.add(address, member.node_id, self.local.rng)
        self.local.version += 1
        self.local.event("peer_left", now, address, member.node_id, reason=why)

    def repair(self, now: float, sends: list[Send]) -> None:
        """Ask a passive peer to join when the active view is short (HyParView's NEIGHBOR)."""
        local, joins = self.local, self.joins
        joins.through_seeds(now, sends)
        wanted = 1 if local.active else 3
        if len(local.active) >= self.active_size or len(joins.pending) >= wanted:
            return
        if not local.passive and not local.active:
            for seed in joins.seeds:
                local.passive.add(seed, "", local.rng)
        candidates = [a for a in local.passive.sample(wanted, local.rng)
                      if a not in joins.pending]
        for address in candidates[: wanted - len(joins.pending)]:
            sends.append(joins.ask(address, now))

    def learn(self, peers: list[list[str]], introducer: str) -> None:
        """A peer sample from `introducer`: addresses for the passive view (its share of it at
        most), never straight into the active one."""
        local = self.local
        for address, node_id in peers:
            if address == local.self_addr or address in local.active or address in local.dead:
                continue
            local.passive.add(address, node_id, local.rng, introducer)

    def sample(self, with_self: bool, size: int | None = None) -> list[list[str]]:
        local = self.local
        pairs = [[a, local.active[a].node_id] for a in local.random_active(SHUFFLE_ACTIVE)]
        # Only passive addresses that answered us travel on: a rumour stays with whoever heard it.
        answered = [a for a in local.passive if a in local.answered]
        pairs += local.passive.pairs(local.rng.sample(answered,
                                                      min(SHUFFLE_PASSIVE, len(answered))))
        if with_self:
            pairs.insert(0, [local.self_addr, local.node_id])
        pairs = [p for p in pairs if p[1]]  # seeds not yet heard from have no id to offer
        return pairs[:size] if size is not None else pairs
