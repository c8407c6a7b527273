"""Membership: who the peers are and which of them are alive, as a socket-free state machine.

The gossip thread feeds it what arrives and sends what `tick` plans; the spread
benchmark drives the same class over a simulated network. Time is whatever
clock the caller passes as `now` (monotonic seconds in the node, round numbers
in the simulator).

Protocol, per round (`tick`):
- a heartbeat to every live peer; failure detection is direct: a peer is dead
  after `dead_after` without a message from it, and alive again when heard;
- the heartbeats to `fanout` random live peers carry a peer-exchange sample:
  addresses newly learned (pushed on for `news_rounds` rounds, see relay.py)
  first, then random live addresses, `exchange_size` in all;
- a `hello` to up to `fanout` addresses not yet heard from (seeds, exchange
  samples) and to one dead peer; a `hello` is answered with a heartbeat, so a
  node started with one live seed learns the whole network.
The table holds at most `max_peers` entries (alive peers and seeds are never
evicted), and news of an address is pushed on only for a few rounds, so a
flood of fake addresses can neither grow the table nor circulate for long.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gossip.relay import Relay

HELLO = "hello"
HEARTBEAT = "heartbeat"

# A planned send: (message type, destination address, membership body).
Send = tuple[str, str, dict[str, Any]]


class PeerState(StrEnum):
    PENDING = "pending"  # address known, never heard from
    ALIVE = "alive"
    DEAD = "dead"


@dataclass
class Peer:
    address: str
    learned_at: float
    state: PeerState = PeerState.PENDING
    node_id: str | None = None
    heard_at: float | None = None
    dead_since: float | None = None
    seed: bool = False
    hinted: bool = False  # a dead peer another node reports alive: probe it first


class Membership:
    """Peer table, failure detection and peer exchange of one node."""

    def __init__(
        self,
        self_addr: str,
        *,
        fanout: int = 3,
        dead_after: float = 5.0,
        forget_after: float = 600.0,
        max_peers: int = 1024,
        exchange_size: int = 16,
        news_rounds: int = 4,
        rng: random.Random | None = None,
    ) -> None:
        self.self_addr = self_addr
        self.fanout = fanout
        self.dead_after = dead_after
        self.forget_after = forget_after
        self.max_peers = max_peers
        self.exchange_size = exchange_size
        self.rng = rng or random.Random()
        self._peers: dict[str, Peer] = {}
        self._news: Relay[str] = Relay(news_rounds, max_active=max(exchange_size, 1))
        self._events: list[dict[str, Any]] = []
        self.refused = 0  # new addresses turned away because the table was full
        self.version = 0  # changes whenever the table or a peer's state changes

    # --- what the caller feeds in -------------------------------------------------

    def add_seeds(self, addresses: Iterable[str], now: float) -> None:
        """Addresses from the peers file: kept (never forgotten) and probed until they answer."""
        for address in addresses:
            peer = self._peers.get(address) or self._add(address, now, seed=True)
            if peer is not None:
                peer.seed = True

    def on_message(
        self, kind: str, address: str, node_id: str, body: dict[str, Any] | None, now: float
    ) -> list[Send]:
        """A valid message arrived from `address`; returns the reply to send, if any.

        Any message type is proof of life; `hello` and `heartbeat` bodies also
        carry a peer-exchange sample, and a `hello` asks for a heartbeat back.
        """
        if not address or address == self.self_addr:
            return []
        peer = self._heard(address, node_id, now)
        if body is not None:
            self._learn(body.get("peers", ()), now)
        if kind == HELLO and peer is not None:
            return [(HEARTBEAT, address, self._exchange_body(exclude=address))]
        return []

    def tick(self, now: float) -> list[Send]:
        """One gossip round: detect deaths, forget stale entries, and plan this round's sends."""
        self._detect_deaths(now)
        self._forget_stale(now)
        live = self.live()
        news = self._news.due()
        exchange = set(self.rng.sample(live, min(self.fanout, len(live))))
        sends: list[Send] = []
        for address in live:
            body = self._exchange_body(address, news) if address in exchange else {"peers": []}
            sends.append((HEARTBEAT, address, body))
        for address in self._probe_targets():
            sends.append((HELLO, address, self._exchange_body(address, news)))
        return sends

    # --- what the caller reads ----------------------------------------------------

    def live(self) -> list[str]:
        return [a for a, p in self._peers.items() if p.state is PeerState.ALIVE]

    def known(self) -> list[str]:
        return list(self._peers)

    def peer(self, address: str) -> Peer | None:
        return self._peers.get(address)

    def counts(self) -> dict[str, int]:
        """Number of peers in each state, for counters and the status reply."""
        out = {state.value: 0 for state in PeerState}
        for peer in self._peers.values():
            out[peer.state.value] += 1
        return out

    def drain_events(self) -> list[dict[str, Any]]:
        """peer_joined / peer_dead / peer_returned / peer_forgotten records since the last call."""
        events, self._events = self._events, []
        return events

    # --- the state machine --------------------------------------------------------

    def _heard(self, address: str, node_id: str, now: float) -> Peer | None:
        peer = self._peers.get(address) or self._add(address, now)
        if peer is None:
            return None
        peer.heard_at = now
        if node_id:
            peer.node_id = node_id
        if peer.state is PeerState.PENDING:
            peer.state = PeerState.ALIVE
            self._event("peer_joined", now, peer)
        elif peer.state is PeerState.DEAD:
            dead_for = now - (peer.dead_since if peer.dead_since is not None else now)
            peer.state, peer.dead_since, peer.hinted = PeerState.ALIVE, None, False
            self._event("peer_returned", now, peer, dead_for=round(dead_for, 3))
        else:
            return peer
        self.version += 1
        self._news.offer(address, address)  # tell others about it for a few rounds
        return peer

    def _learn(self, addresses: Iterable[str], now: float) -> None:
        for address in addresses:
            if address == self.self_addr:
                continue
            peer = self._peers.get(address)
            if peer is None:
                self._add(address, now)
            elif peer.state is PeerState.DEAD:
                peer.hinted = True
            self._news.offer(address, address)  # first time seen: push it on (rumour)

    def _detect_deaths(self, now: float) -> None:
        for peer in self._peers.values():
            if peer.state is not PeerState.ALIVE or peer.heard_at is None:
                continue
            silent = now - peer.heard_at
            if silent > self.dead_after:
                peer.state, peer.dead_since = PeerState.DEAD, now
                self.version += 1
                self._news.forget(peer.address)  # so its return is news again
                self._event("peer_dead", now, peer, silent_for=round(silent, 3))

    def _forget_stale(self, now: float) -> None:
        for peer in list(self._peers.values()):
            if peer.seed or peer.state is PeerState.ALIVE:
                continue
            since = peer.dead_since if peer.state is PeerState.DEAD else peer.learned_at
            if since is not None and now - since > self.forget_after:
                self._remove(peer)
                self._event("peer_forgotten", now, peer, state=peer.state.value)

    def _probe_targets(self) -> list[str]:
        pending = [a for a, p in self._peers.items() if p.state is PeerState.PENDING]
        targets = self.rng.sample(pending, min(self.fanout, len(pending)))
        dead = [p for p in self._peers.values() if p.state is PeerState.DEAD]
        if dead:
            hinted = [p for p in dead if p.hinted]
            chosen = self.rng.choice(hinted or dead)
            chosen.hinted = False
            targets.append(chosen.address)
        return targets

    def _exchange_body(self, exclude: str, news: list[str] | None = None) -> dict[str, Any]:
        """Peer-exchange sample for `exclude`: news first, then random live addresses.

        News is pushed on before this node has heard from the address itself, as a
        rumour must be to spread in O(log N) rounds; every receiver probes it anyway.
        """
        size = self.exchange_size
        sample: list[str] = []
        taken = {exclude, self.self_addr}
        for address in news or ():
            if len(sample) >= size:
                break
            peer = self._peers.get(address)
            if address not in taken and peer is not None and peer.state is not PeerState.DEAD:
                sample.append(address)
                taken.add(address)
        if len(sample) < size:
            live = [a for a in self.live() if a not in taken]
            sample += self.rng.sample(live, min(size - len(sample), len(live)))
        return {"peers": sample}

    def _add(self, address: str, now: float, seed: bool = False) -> Peer | None:
        if address == self.self_addr:
            return None
        if len(self._peers) >= self.max_peers and not self._evict_one():
            self.refused += 1
            return None
        peer = Peer(address, learned_at=now, seed=seed)
        self._peers[address] = peer
        self.version += 1
        return peer

    def _evict_one(self) -> bool:
        """Make room: the longest-dead peer, else the oldest unanswered address; never a seed."""
        dead = [p for p in self._peers.values() if p.state is PeerState.DEAD and not p.seed]
        if dead:
            self._remove(min(dead, key=lambda p: p.dead_since or 0.0))
            return True
        pending = [p for p in self._peers.values() if p.state is PeerState.PENDING and not p.seed]
        if pending:
            self._remove(min(pending, key=lambda p: p.learned_at))
            return True
        return False

    def _remove(self, peer: Peer) -> None:
        del self._peers[peer.address]
        self._news.forget(peer.address)
        self.version += 1

    def _event(self, name: str, now: float, peer: Peer, **extra: Any) -> None:
        self._events.append(
            {"event": name, "t": now, "peer": peer.address, "node": peer.node_id, **extra}
        )
