"""What the gossip thread does: receive, check who sent it, run membership, move migrants.

The engine owns the Transport (all sockets) and runs in one thread; it meets
the island thread only in `Shared` (bulletin.py: bounded mailboxes, counters, a
snapshot of the live peers). It decides whom to believe and hands on: membership
to `Membership`, migrants to `Spreader` (spreading.py), every send to `Outbound`
(outbound.py), unproven connections to `Proofs` (proofs.py), events to `Bulletin`.
No input can stop it: each message, each round and each flush is guarded, and a
surprise is counted as `internal_error` before the loop goes on.

Trust, in the order a request meets it (DESIGN.md, Gossip):
1. the sender's budget (messages per second per connection or proven node);
2. with CURVE, the key: a sender id other than the one its key is filed under
   is dropped as `spoofed_id`;
3. the connection: bound to an identity by a nonce echo (identity.py); a bound
   connection claiming another id or address is dropped as `spoofed_id`, an
   unbound one may only ping, join (which starts a proof), prove or echo.
Replies on this node's own DEALERs are trusted to come from the dialled address.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from gossip.budget import TokenBuckets
from gossip.bulletin import Bulletin, Shared
from gossip.config import GossipConfig
from gossip.identity import key_owners
from gossip.membership import Membership, Reply
from gossip.messages import (
    ECHO,
    MIGRANTS,
    PROVE,
    REPLIES,
    STATUS_REPLY,
    STATUS_REQUEST,
    Message,
    MessageError,
    decode_message,
)
from gossip.outbound import Outbound
from gossip.proofs import UNPROVEN, Proofs
from gossip.spreading import Spreader
from gossip.status import status_payload
from gossip.transport import Transport

WAKE_S = 0.02  # longest wait before emitted migrants are picked up
RECEIVE_BUDGET = 256  # messages handled before the loop looks at the clock again


class Engine:
    """One node's gossip protocol over a Transport; call `run` from the thread that made it."""

    def __init__(
        self, config: GossipConfig, node_id: str, transport: Transport, seeds: list[str],
        shared: Shared, status: Callable[[], dict[str, Any]] | None = None,
        rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config, self.node_id, self.transport = config, node_id, transport
        self.address = transport.address
        self.shared, self.counters, self.status = shared, shared.counters, status
        self.rng = rng or random.Random()
        self.clock = clock
        self.bulletin = Bulletin(shared, config.event_rate, clock)
        period = config.heartbeat_interval
        self.membership = Membership(
            self.address, node_id, fanout=config.fanout, active_size=config.active_size,
            passive_size=config.passive_size, indirect_probes=config.indirect_probes,
            period=period, dead_after=config.dead_after, forget_after=config.forget_after,
            incarnation=int(time.time()), rng=self.rng,  # a restarted node outbids its past
        )
        self.membership.add_seeds(seeds, clock())
        live = self.membership.live
        self.out = Outbound(config, node_id, transport, self.counters, clock, live)
        self.spreader = Spreader(config, self.out, shared.inbox, shared.outbox, self.counters,
                                 live, self.bulletin.event, self.rng)
        self.proofs = Proofs(config, self.out, lambda: transport.connected, self.counters,
                             self._reject, self._proven, clock)
        self.budgets = TokenBuckets(config.sender_rate, 2 * config.sender_rate)
        self.owners = key_owners(transport.curve.allow_dir) if transport.curve else None
        self._published_version = -1
        transport.node_of = self._node_of

    # --- the loop -------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Loop until `stop` is set: receive, run membership timers, flush migrants."""
        next_round = self.clock()
        while not stop.is_set():
            self._guard("receive", self._receive, WAKE_S)
            self._guard("emit", self.spreader.flush_outbox)
            now = self.clock()
            self._guard("membership", self._tick, now)
            if now >= next_round:
                self._guard("round", self._round, now)
                next_round = max(next_round + self.config.heartbeat_interval, now)
            self._guard("publish", self._publish, False)
            self._guard("security", self._drain_security)
        self._guard("leave", self._dispatch, self.membership.leave())

    def _guard(self, where: str, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # the thread must outlive any bug or input
            self.bulletin.internal_error(where, exc)

    # --- incoming -------------------------------------------------------------------

    def _receive(self, wait: float) -> None:
        if not self.transport.poll(wait):
            return
        for _ in range(RECEIVE_BUDGET):
            item = self.transport.receive()
            if item is None:
                return
            self._guard("message", self._handle, *item)

    def _handle(self, route: bytes, frames: list[bytes], peer_ip: str | None, key: str | None,
                via: str | None) -> None:
        self.counters.add("messages_received")
        identity = self.proofs.identity(route) if via is None else None
        # The budget comes first: a flood past it costs a lookup, not a decode.
        owner = via if via is not None else (identity.node_id if identity else route)
        if not self.budgets.allow(owner, self.clock()):
            self.counters.add("over_budget")  # counted, never logged one by one
            return
        if len(frames) != 1:
            self._reject("bad_frames", None, peer_ip)
            return
        try:
            msg = decode_message(frames[0], self.config.max_message_bytes)
        except MessageError as exc:
            self._reject(exc.reason, exc.sender, peer_ip)
            return
        if msg.sender == self.node_id:
            self._reject("from_self", msg.sender, peer_ip)  # e.g. our own alias in peers.txt
            return
        if via is not None:
            self._handle_reply(via, msg)  # a peer we dialled is held to the budget too
            return
        if msg.type in REPLIES:
            self._reject("unsolicited_reply", msg.sender, peer_ip)
            return
        if msg.type == STATUS_REQUEST:
            self._answer_status(route, msg)
            return
        if self.owners is not None and self.owners.get(key or "") != msg.sender:
            self._reject("spoofed_id", msg.sender, peer_ip)  # an allowed key, another node's id
            return
        self.counters.add("messages_accepted")
        self.counters.add(f"received.{msg.type}")
        if identity is None:
            if msg.type in UNPROVEN:
                self.proofs.unproven(route, msg, peer_ip)
            else:
                self._reject("unproven_sender", msg.sender, peer_ip)
        elif (identity.node_id, identity.address) != (msg.sender, msg.addr):
            self._reject("spoofed_id", msg.sender, peer_ip)
        else:
            self._proven(route, msg, key)

    def _proven(self, route: bytes, msg: Message, key: str | None = None) -> None:
        if msg.type == PROVE:
            self.out.send(msg.addr, ECHO, {"nonce": msg.body["nonce"]})
        elif msg.type == MIGRANTS:
            self.spreader.receive(msg, key)
        elif msg.type != ECHO:
            now = self.clock()
            self._dispatch(self.membership.on_request(
                msg.type, msg.addr, msg.sender, msg.body, now, Reply(route)))

    def _handle_reply(self, via: str, msg: Message) -> None:
        """A reply on our own connection to `via`: whoever listens there sent it."""
        if msg.type not in REPLIES:
            self._reject("not_a_reply", msg.sender, None)
            return
        self.counters.add("messages_accepted")
        self.counters.add(f"received.{msg.type}")
        self.out.heard_from(via)
        if msg.type != STATUS_REPLY:
            now = self.clock()
            self._dispatch(self.membership.on_reply(msg.type, via, msg.sender, msg.body, now))

    def _reject(self, reason: str, sender: str | None, peer_ip: str | None) -> None:
        self.counters.reject(reason)
        self.bulletin.event("message_rejected", reason=reason, sender=sender, peer_ip=peer_ip)

    def _answer_status(self, route: bytes, msg: Message) -> None:
        self.counters.add("status_requests")
        payload, problem = status_payload(
            self.node_id, self.address, msg.body["nonce"], self.membership.live(),
            self.counters.snapshot(), self.status, self.config.max_message_bytes)
        if problem is not None:
            self.counters.add("status_callback_errors")
        self.out.reply_payload(route, STATUS_REPLY, payload)

    # --- outgoing -------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        self._dispatch(self.membership.tick(now))
        self.proofs.expire(now)

    def _dispatch(self, sends: list[tuple[str, Any, dict[str, Any]]]) -> None:
        for kind, to, body in sends:
            if isinstance(to, Reply):
                self.out.reply(to.token, kind, body)
            else:
                self.out.send(to, kind, body)
        self._drain_membership_events()

    def _round(self, now: float) -> None:
        self.spreader.round()
        self.out.sync(now, keep=self.proofs.challenges.pending)
        self._publish(force=True)
        self.bulletin.summarise_suppressed()

    # --- CURVE ----------------------------------------------------------------------

    def _node_of(self, address: str) -> str | None:
        """Node id whose key the DEALER to `address` must expect (CURVE server key)."""
        return self.membership.node_of(address) or self.proofs.challenges.node_of(address)

    def _drain_security(self) -> None:
        """Count and log handshakes the CURVE server refused and peers we hold no key for."""
        for record in self.transport.take_security_events():
            self.counters.add("curve_rejected")
            self.counters.add(f"curve_rejected.{record['reason']}")
            self.bulletin.event("curve_rejected", **record)
        for address in self.transport.take_keyless():
            self.counters.add("peers_without_key")
            node = self.membership.node_of(address)
            self.bulletin.event("peer_without_key", peer=address, node=node)

    # --- bookkeeping ----------------------------------------------------------------

    def _drain_membership_events(self) -> None:
        for record in self.membership.drain_events():
            record.pop("t", None)
            self.bulletin.event(record.pop("event"), **record)

    def _publish(self, force: bool) -> None:
        """Refresh the live-peer snapshot and peer counters when membership changed."""
        if not force and self.membership.version == self._published_version:
            return
        self._published_version = self.membership.version
        for state, n in self.membership.counts().items():
            self.counters.set(f"peers_{state}", n)
        self.counters.set("incarnation", self.membership.incarnation)
        self.counters.set("awareness", self.membership.probes.awareness)
        self.counters.set("events_dropped", self.shared.events.dropped)
        self.counters.set("connections_open", len(self.transport.connected))
        self.counters.set("identities_bound", len(self.proofs.bindings))
        self.counters.set("names_unresolved", self.transport.unresolved)
        self.counters.set("name_lookups_timed_out", self.transport.resolver.timeouts)
        self.shared.set_live(self.membership.live())
