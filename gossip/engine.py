"""What the gossip thread does: receive, check who sent it, run membership, move migrants.

The engine owns the Transport (all sockets) and runs in one thread; it meets
the island thread only in `Shared` (bulletin.py: bounded mailboxes, counters, a
snapshot of the live peers). Whom to believe is the `Gate`'s (gate.py: budget,
CURVE key, proven connection); the engine hands on what passed: membership to
`Membership`, migrants to `Spreader` (spreading.py), every send to `Outbound`
(outbound.py), unproven connections to `Proofs` (proofs.py), events to `Bulletin`;
`Reporting` (reporting.py) publishes gauges and what membership and CURVE noticed.
No input can stop it: each message, each round and each flush is guarded, and a
surprise is counted as `internal_error` before the loop goes on.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from gossip.bulletin import Bulletin, Shared
from gossip.config import GossipConfig
from gossip.gate import Gate, Standing
from gossip.identity import key_owners
from gossip.membership import Membership, Reply
from gossip.messages import (
    ECHO,
    MIGRANTS,
    PROVE,
    STATUS_REPLY,
    Message,
)
from gossip.outbound import Outbound
from gossip.proofs import Proofs
from gossip.reporting import Reporting
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
        self.proofs = Proofs(config, self.out, transport.reaching, self.counters, self._reject,
                             self._proven, clock)
        owners = key_owners(transport.curve.allow_dir) if transport.curve else None
        self.gate = Gate(config, node_id, self.counters, self.proofs, owners, self._reject, clock)
        self.reporting = Reporting(shared, self.bulletin, self.membership, transport,
                                   self.proofs)
        transport.dealers.node_of = self._node_of

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
            self._guard("publish", self.reporting.publish, False)
            self._guard("security", self.reporting.security)
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
        admitted = self.gate.admit(route, frames, peer_ip, key, via)
        if admitted is None:
            return
        standing, msg = admitted.standing, admitted.msg
        if standing is Standing.REPLY:  # on our own connection: whoever listens at `via` sent it
            self.out.heard_from(via)
            if msg.addr != via and self.transport.same_endpoint(msg.addr, via):
                via = self._call_by_advertised(via, msg.addr)
            if msg.type != STATUS_REPLY:
                self._dispatch(self.membership.on_reply(
                    msg.type, via, msg.sender, msg.body, self.clock()))
        elif standing is Standing.STATUS:
            self._answer_status(route, msg)
        elif standing is Standing.UNPROVEN:
            self.proofs.unproven(route, msg, peer_ip)
        else:
            self._proven(route, msg, key)

    def _proven(self, route: bytes, msg: Message, key: str | None = None) -> None:
        if msg.type == PROVE:
            self.out.send(self.transport.reaching(msg.addr) or msg.addr, ECHO,
                          {"nonce": msg.body["nonce"]})
        elif msg.type == MIGRANTS:
            self.spreader.receive(msg, key)
        elif msg.type != ECHO:
            now = self.clock()
            self._dispatch(self.membership.on_request(
                msg.type, msg.addr, msg.sender, msg.body, now, Reply(route)))

    def _call_by_advertised(self, named: str, advertised: str) -> str:
        """We dialled `named` (a peers-file spelling); the node there advertises another
        spelling of the same endpoint. Membership knows nodes by what they advertise, as
        every other node does, so the dial and our plans for it take that name."""
        self.out.rename(named, advertised)
        self.membership.rename(named, advertised)
        return advertised

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
        self.reporting.membership_events()

    def _round(self, now: float) -> None:
        self.spreader.round()
        self.out.sync(now, keep=self.proofs.challenges.pending)
        self.reporting.publish(force=True)
        self.bulletin.summarise_suppressed()

    # --- CURVE ----------------------------------------------------------------------

    def _node_of(self, address: str) -> str | None:
        """Node id whose key the DEALER to `address` must expect (CURVE server key)."""
        return self.membership.node_of(address) or self.proofs.challenges.node_of(address)
