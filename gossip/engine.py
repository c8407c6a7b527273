"""What the gossip thread does: receive, validate, run rounds, move migrants, answer status.

The engine owns the Transport (all sockets) and runs in one thread; it meets
the island thread only in `Shared` (bounded mailboxes, counters, a snapshot of
the live peers). No input can stop it: each message, each round and each flush
is guarded, and a surprise is counted as `internal_error` and logged as an
event before the loop goes on.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import zmq

from gossip.config import GossipConfig
from gossip.counters import Counters
from gossip.mailbox import Mailbox
from gossip.membership import Membership, PeerState
from gossip.messages import (
    HEARTBEAT,
    HELLO,
    MIGRANTS,
    STATUS_REPLY,
    STATUS_REQUEST,
    Message,
    MessageError,
    decode_message,
    encode_message,
)
from gossip.migrant import Migrant, migrant_key
from gossip.relay import Relay
from gossip.topology import make_topology
from gossip.transport import Transport

log = logging.getLogger(__name__)

WAKE_S = 0.02  # longest wait before emitted migrants are picked up
RECEIVE_BUDGET = 256  # messages handled before the loop looks at the clock again
MAX_EVENTS = 10_000
MAX_ERROR_TEXT = 200
LOGGED_ERRORS = 20  # tracebacks written to the log before going quiet


@dataclass
class Shared:
    """Everything both threads touch; each part does its own locking."""

    inbox: Mailbox[Migrant]
    outbox: Mailbox[dict[str, Any]]
    events: Mailbox[dict[str, Any]] = field(default_factory=lambda: Mailbox(MAX_EVENTS))
    counters: Counters = field(default_factory=Counters)
    _live: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set_live(self, peers: list[str]) -> None:
        with self._lock:
            self._live = list(peers)

    def live(self) -> list[str]:
        with self._lock:
            return list(self._live)


class Engine:
    """One node's gossip protocol over a Transport; call `run` from the thread that made it."""

    def __init__(
        self,
        config: GossipConfig,
        node_id: str,
        transport: Transport,
        seeds: list[str],
        shared: Shared,
        status: Callable[[], dict[str, Any]] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.node_id = node_id
        self.transport = transport
        self.address = transport.address
        self.shared = shared
        self.counters = shared.counters
        self.status = status
        self.rng = rng or random.Random()
        self.clock = clock
        self.membership = Membership(
            self.address,
            fanout=config.fanout,
            dead_after=config.dead_after,
            forget_after=config.forget_after,
            max_peers=config.max_peers,
            exchange_size=config.exchange_size,
            news_rounds=config.news_rounds,
            rng=self.rng,
        )
        self.membership.add_seeds(seeds, clock())
        self.topology = make_topology(config.topology)
        self.relay: Relay[dict[str, Any]] = Relay(config.relay_rounds, config.max_migrants)
        self._opened_at: dict[str, float] = {}
        self._published_version = -1
        self._errors_logged = 0
        transport.node_of = self._node_of

    # --- the loop -------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Loop until `stop` is set: receive, flush emitted migrants, and run a round when due."""
        next_round = self.clock()
        while not stop.is_set():
            wait = min(max(next_round - self.clock(), 0.0), WAKE_S)
            self._guard("receive", self._receive, wait)
            self._guard("emit", self._flush_outbox)
            now = self.clock()
            if now >= next_round:
                self._guard("round", self._round, now)
                next_round += self.config.heartbeat_interval
                if next_round < now:  # fell behind (a stall): skip rounds rather than burst
                    next_round = now + self.config.heartbeat_interval
            self._guard("publish", self._publish, False)
            self._guard("security", self._drain_security)

    def _guard(self, where: str, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # the thread must outlive any bug or input
            self.counters.add("internal_error")
            self._event("internal_error", where=where, error=f"{type(exc).__name__}: {exc}")
            if self._errors_logged < LOGGED_ERRORS:
                self._errors_logged += 1
                log.exception("gossip: internal error in %s", where)

    # --- incoming -------------------------------------------------------------------

    def _receive(self, wait: float) -> None:
        if not self.transport.poll(wait):
            return
        for _ in range(RECEIVE_BUDGET):
            item = self.transport.receive()
            if item is None:
                return
            self._guard("message", self._handle, *item)

    def _handle(
        self, routing_id: bytes, frames: list[bytes], peer_ip: str | None, key: str | None
    ) -> None:
        self.counters.add("messages_received")
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
        self.counters.add("messages_accepted")
        self.counters.add(f"received.{msg.type}")
        now = self.clock()
        membership_body = msg.body if msg.type in (HELLO, HEARTBEAT) else None
        for kind, address, body in self.membership.on_message(
            msg.type, msg.addr, msg.sender, membership_body, now
        ):
            self._send(address, kind, body)
        if msg.type == MIGRANTS:
            self._receive_migrants(msg, key)
        elif msg.type == STATUS_REQUEST:
            self._answer_status(routing_id, msg)
        self._drain_membership_events()

    def _reject(self, reason: str, sender: str | None, peer_ip: str | None) -> None:
        self.counters.reject(reason)
        self._event("message_rejected", reason=reason, sender=sender, peer_ip=peer_ip)

    def _receive_migrants(self, msg: Message, key: str | None) -> None:
        for migrant, wire in zip(msg.body["migrants"], msg.body["wire"], strict=True):
            if not self.relay.offer(migrant_key(wire), wire):
                self.counters.add("migrants_duplicate")
                continue
            self.counters.add("migrants_received")
            if not self.shared.inbox.put(migrant):
                self.counters.add("inbox_dropped")
            self._event(
                "migrant_received",
                sender=msg.sender,
                sender_addr=msg.addr,
                claimed_fitness=migrant.claimed_fitness,
                **({"sender_key": key} if key is not None else {}),
                **_summary(wire),
            )

    def _answer_status(self, routing_id: bytes, msg: Message) -> None:
        self.counters.add("status_requests")
        status: dict[str, Any] = {}
        if self.status is not None:
            try:
                status = dict(self.status())
            except Exception as exc:
                self.counters.add("status_callback_errors")
                status = {"error": f"status callback failed: {type(exc).__name__}"}
        body = {
            "nonce": msg.body["nonce"],
            "node": self.node_id,
            "address": self.address,
            "peers": self.membership.live(),
            "counters": self.counters.snapshot(),
            "status": status,
        }
        try:
            payload = encode_message(STATUS_REPLY, self.node_id, self.address, body)
        except (TypeError, ValueError, OverflowError):
            self.counters.add("status_callback_errors")
            body["status"] = {"error": "status callback returned data msgpack cannot encode"}
            payload = encode_message(STATUS_REPLY, self.node_id, self.address, body)
        if len(payload) > self.config.max_message_bytes:
            body["status"] = {"error": "status reply larger than max_message_bytes"}
            body["counters"] = {}
            payload = encode_message(STATUS_REPLY, self.node_id, self.address, body)
        if self.transport.reply(routing_id, payload):
            self.counters.add(f"sent.{STATUS_REPLY}")
        else:
            self.counters.add("sends_dropped")
            self.counters.add(f"sends_dropped.{STATUS_REPLY}")

    # --- outgoing -------------------------------------------------------------------

    def _flush_outbox(self) -> None:
        wires = self.shared.outbox.take()
        if not wires:
            return
        self.counters.add("migrants_emitted", len(wires))
        fresh = [w for w in wires if self.relay.offer(migrant_key(w), w)]
        if fresh:
            self._push(fresh, relayed=False)

    def _round(self, now: float) -> None:
        for kind, address, body in self.membership.tick(now):
            self._send(address, kind, body)
        due = self.relay.due()
        if due:
            self._push(due, relayed=True)
        self._drain_membership_events()
        self._publish(force=True)

    def _push(self, wires: list[dict[str, Any]], relayed: bool) -> None:
        """Send migrants to the destinations the topology picks among live peers."""
        targets = self.topology.choose(
            self.membership.live(), self.address, self.config.fanout, self.rng
        )
        if not targets:
            self.counters.add("migrants_unsent", len(wires))
            return
        for payload, batch in self._pack(wires):
            for address in targets:
                sent = self._send_payload(address, MIGRANTS, payload)
                if sent:
                    self.counters.add("migrants_sent", len(batch))
                    if relayed:
                        self.counters.add("migrants_relayed", len(batch))
                for wire in batch:
                    name = "migrant_sent" if sent else "migrant_send_dropped"
                    self._event(name, to=address, relayed=relayed, **_summary(wire))

    def _pack(self, wires: list[dict[str, Any]]) -> list[tuple[bytes, list[dict[str, Any]]]]:
        """Messages of at most max_migrants migrants and max_message_bytes bytes each."""
        step = self.config.max_migrants
        todo = [wires[i : i + step] for i in range(0, len(wires), step)]
        out = []
        while todo:
            batch = todo.pop()
            payload = encode_message(MIGRANTS, self.node_id, self.address, {"migrants": batch})
            if len(payload) <= self.config.max_message_bytes:
                out.append((payload, batch))
            elif len(batch) > 1:
                half = len(batch) // 2
                todo += [batch[:half], batch[half:]]
            else:
                self.counters.add("migrants_too_large")
                self._event("migrant_too_large", bytes=len(payload), **_summary(batch[0]))
        return out

    def _send(self, address: str, kind: str, body: dict[str, Any]) -> bool:
        payload = encode_message(kind, self.node_id, self.address, body)
        return self._send_payload(address, kind, payload)

    def _send_payload(self, address: str, kind: str, payload: bytes) -> bool:
        if address not in self._opened_at:
            self._opened_at[address] = self.clock()
        try:
            sent = self.transport.send(address, payload)
        except zmq.ZMQError:
            self.counters.add("send_errors")
            sent = False
        if sent:
            self.counters.add(f"sent.{kind}")
        else:
            self.counters.add("sends_dropped")
            self.counters.add(f"sends_dropped.{kind}")
        return sent

    def _sync_connections(self, now: float) -> None:
        """Open DEALERs to live peers and seeds early, as a send before connecting drops.

        Close those of peers dead or unanswering for `disconnect_after` and not probed
        since, so addresses that never answer do not hold sockets.
        """
        linger = self.config.disconnect_after
        for address in self.membership.known():
            peer = self.membership.peer(address)
            if peer is None:
                continue
            opened = self._opened_at.get(address)
            wanted = peer.state is PeerState.ALIVE or (
                peer.seed and peer.state is PeerState.PENDING
            )
            if wanted:
                if opened is None:
                    self._opened_at[address] = now
                    self.transport.connect(address)
                continue
            since = peer.dead_since if peer.state is PeerState.DEAD else peer.learned_at
            stale = since is not None and now - since > linger
            if opened is not None and stale and now - opened > linger:
                self._close(address)
        known = set(self.membership.known())
        for address in list(self._opened_at):
            if address not in known:
                self._close(address)

    def _close(self, address: str) -> None:
        self._opened_at.pop(address, None)
        self.transport.disconnect(address)
        self.counters.add("connections_closed")

    # --- CURVE ----------------------------------------------------------------------

    def _node_of(self, address: str) -> str | None:
        peer = self.membership.peer(address)
        return peer.node_id if peer is not None else None

    def _drain_security(self) -> None:
        """Count and log handshakes the CURVE server refused and peers we hold no key for."""
        for record in self.transport.take_security_events():
            self.counters.add("curve_rejected")
            self.counters.add(f"curve_rejected.{record['reason']}")
            self._event("curve_rejected", **record)
        for address in self.transport.take_keyless():
            self.counters.add("peers_without_key")
            self._event("peer_without_key", peer=address, node=self._node_of(address))

    # --- bookkeeping ----------------------------------------------------------------

    def _drain_membership_events(self) -> None:
        for record in self.membership.drain_events():
            record.pop("t", None)
            self._event(record.pop("event"), **record)

    def _publish(self, force: bool) -> None:
        """Refresh the live-peer snapshot and peer counters when membership changed."""
        if not force and self.membership.version == self._published_version:
            return
        self._published_version = self.membership.version
        self._sync_connections(self.clock())
        counts = self.membership.counts()
        for state, n in counts.items():
            self.counters.set(f"peers_{state}", n)
        self.counters.set("peer_table_refused", self.membership.refused)
        self.counters.set("relay_evicted", self.relay.evicted)
        self.counters.set("events_dropped", self.shared.events.dropped)
        self.counters.set("connections_open", len(self._opened_at))
        self.shared.set_live(self.membership.live())

    def _event(self, name: str, **fields: Any) -> None:
        if "error" in fields:
            fields["error"] = str(fields["error"])[:MAX_ERROR_TEXT]
        self.shared.events.put({"time": time.time(), "event": name, **fields})


def _summary(wire: dict[str, Any]) -> dict[str, Any]:
    """The fields of a migrant that its log lines carry."""
    return {
        "origin": wire["origin"],
        "generation": wire["generation"],
        "role": wire["role"],
        "env_id": wire["env_id"],
        "fingerprint": wire["genome"]["fingerprint"],
    }
