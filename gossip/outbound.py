"""Sends to peers: new dials within their limits, every drop counted, idle dials closed.

The gossip thread's one way out. Connections to the active view stay open; any
other dial (a proof, a join to a rumoured address, a reply path) is closed a
few periods after its last use, and a dial closed without any reply on it
counts as a failure for that address's back-off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import zmq

from gossip.budget import DialLimiter
from gossip.config import GossipConfig
from gossip.mailbox import Counters
from gossip.messages import encode_message
from gossip.transport import Transport

DIAL_LINGER = 3.0  # periods a connection outside the active view stays open after its last use


class Outbound:
    """Messages out of one node over its Transport, with dial limits and counted drops."""

    def __init__(
        self, config: GossipConfig, node_id: str, transport: Transport, counters: Counters,
        clock: Callable[[], float], active: Callable[[], list[str]],
        node_of: Callable[[str], str | None],
    ) -> None:
        self.config, self.node_id, self.transport = config, node_id, transport
        self.address = transport.address
        self.counters, self.clock, self.active = counters, clock, active
        self.node_of = node_of  # the node id believed at an address: its CURVE key
        self.dials = DialLimiter(config.dial_rate, config.dial_backoff_max)
        # Proofs asked of joiners get their own rate: our own joins to dead or fake
        # addresses must not starve the answers to peers that want to join us.
        self.proof_dials = DialLimiter(config.dial_rate, config.dial_backoff_max)
        self._used: dict[str, float] = {}  # address -> last send on its DEALER
        self._heard: set[str] = set()  # DEALERs a reply came back on
        self._linger = max(DIAL_LINGER * config.heartbeat_interval, 1.0)

    def send(self, address: str, kind: str, body: dict[str, Any]) -> bool:
        payload = encode_message(kind, self.node_id, self.address, body)
        return self.send_payload(address, kind, payload)

    def send_payload(self, address: str, kind: str, payload: bytes) -> bool:
        """Send on the DEALER to `address`, dialling it if the limits allow; False if dropped."""
        if address not in self.transport.connected and not self.may_dial(address):
            sent = False
        else:
            self._used[address] = self.clock()
            try:
                sent = self.transport.send(address, payload, self.node_of(address))
            except zmq.ZMQError:
                self.counters.add("send_errors")
                sent = False
        self._count(kind, sent)
        return sent

    def reply(self, route: bytes, kind: str, body: dict[str, Any]) -> None:
        self.reply_payload(route, kind, encode_message(kind, self.node_id, self.address, body))

    def reply_payload(self, route: bytes, kind: str, payload: bytes) -> None:
        """Answer on the connection a request came in on."""
        self._count(kind, self.transport.reply(route, payload))

    def may_dial(self, address: str, proof: bool = False) -> bool:
        """A new connection: a resolved address, within the dial rate, the address's
        back-off and `max_dials`."""
        if not self.transport.resolvable(address):
            return False  # a lookup runs off this thread; counted as names_unresolved
        active = set(self.active())
        dialled = sum(a not in active for a in self.transport.connected)
        limiter = self.proof_dials if proof else self.dials
        if dialled >= self.config.max_dials or not limiter.allow(address, self.clock()):
            self.counters.add("dials_refused")
            return False
        self.counters.add("dials")
        return True

    def heard_from(self, address: str) -> None:
        """A reply came back on our DEALER to `address`: the dial worked."""
        self._heard.add(address)
        self.dials.succeeded(address)

    def rename(self, old: str, new: str) -> None:
        """Our dial to `old` reached the node that advertises `new`: call it that from now on."""
        if self.transport.rename(old, new):
            if old in self._used:
                self._used[new] = self._used.pop(old)
            if old in self._heard:
                self._heard.discard(old)
                self._heard.add(new)

    def sync(self, now: float, keep: Callable[[str], bool]) -> None:
        """Keep DEALERs to the active view; close other dials a few periods after their use,
        unless `keep` says they are still needed (a proof in flight)."""
        active = set(self.active())
        for address in active:
            if address not in self.transport.connected:
                # Connecting takes a moment: open early.
                self.transport.connect(address, self.node_of(address))
                self._used[address] = now
        for address in self.transport.connected:
            if address in active or keep(address):
                continue
            if now - self._used.get(address, 0.0) > self._linger:
                if address not in self._heard:
                    self.dials.failed(address, now)
                self._close(address)

    def _close(self, address: str) -> None:
        self._used.pop(address, None)
        self._heard.discard(address)
        self.transport.disconnect(address)
        self.counters.add("connections_closed")

    def _count(self, kind: str, sent: bool) -> None:
        if sent:
            self.counters.add(f"sent.{kind}")
        else:
            self.counters.add("sends_dropped")
            self.counters.add(f"sends_dropped.{kind}")
