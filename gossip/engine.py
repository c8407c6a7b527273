"""The gossip thread: it owns every socket, from bind to goodbye, and runs the protocol.

`SocketThread` binds, runs the `Engine` until told to stop, and closes every socket
on its way out. The engine meets the island thread only in `Shared` (mailbox.py: one
queue each way, counters, a snapshot of the live peers). Whom to believe is the
`Gate`'s verdict (gate.py: budget, CURVE key, proven connection); the engine hands on
what passed: membership to `Membership`, migrants to `Spreader` (spreading.py), every
send to `Outbound` (outbound.py), unproven connections to `Proofs` (proofs.py); it
writes events through its `Bulletin` and publishes gauges and what membership and
CURVE noticed. No input can stop it: each message, each round and each flush is
guarded, and a surprise is counted as `internal_error` before the loop goes on.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import msgspec

from gossip.address import AddressError
from gossip.budget import EventLimiter
from gossip.config import GossipConfig
from gossip.curve import CurveKeys
from gossip.events import GossipEvent, gossip_event
from gossip.gate import Gate, Standing
from gossip.identity import key_owners
from gossip.mailbox import Shared
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
from gossip.spreading import Spreader
from gossip.status import status_payload
from gossip.transport import Transport

log = logging.getLogger(__name__)

WAKE_S = 0.02  # longest wait before emitted migrants are picked up
RECEIVE_BUDGET = 256  # messages handled before the loop looks at the clock again
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
GOODBYE_LINGER_S = 0.5  # how long the goodbye (Membership.leave) may take to leave
MAX_ERROR_TEXT = 200
LOGGED_ERRORS = 20  # tracebacks written to the log before going quiet


class SocketThread:
    """Bind, run the engine, close: the life of the thread behind one `Gossip`."""

    def __init__(self, config: GossipConfig, node_id: str, shared: Shared,
                 status: Callable[[], dict[str, Any]] | None,
                 resolve: Callable[[str], tuple[str, ...]] | None) -> None:
        self.config, self.node_id, self.shared = config, node_id, shared
        self._status, self._resolve = status, resolve
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._final_cpu: float | None = None
        self.address: str | None = None  # known once the socket is bound

    def start(self, seeds: list[str], curve: CurveKeys | None) -> None:
        """Start the thread and wait until it has bound; raise what stopped it."""
        self._thread = threading.Thread(
            target=self._run, args=(seeds, curve), name=f"gossip-{self.node_id}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            self.stop()
            raise TimeoutError(f"gossip thread did not start within {START_TIMEOUT_S} s")
        if self._error is not None:
            self.stop()
            raise self._error

    def stop(self) -> None:
        """Ask the thread to say goodbye and close its sockets; wait for it a while."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_TIMEOUT_S)
            if thread.is_alive():
                log.warning(
                    "gossip: thread of %s did not stop within %s s", self.node_id, STOP_TIMEOUT_S
                )

    def cpu_seconds(self) -> float:
        """CPU time the thread has used, read from its own clock (for cost figures)."""
        if self._final_cpu is not None:
            return self._final_cpu
        thread = self._thread
        if thread is None or thread.ident is None:
            return 0.0
        try:
            return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (OSError, AttributeError):  # the thread just ended, or no POSIX thread clocks
            return self._final_cpu or 0.0

    def _run(self, seeds: list[str], curve: CurveKeys | None) -> None:
        rng = random.Random(self.config.gossip_seed)
        try:
            transport = Transport(self.config, rng, curve, self._resolve)
        except Exception as exc:
            self._error = _bind_error(self.config.bind, exc)
            self._ready.set()
            return
        try:
            engine = Engine(
                self.config, self.node_id, transport, seeds, self.shared, self._status, rng
            )
            self.address = transport.address
            self._ready.set()
            engine.run(self._stop)
        except Exception as exc:  # only setup can get here: the loop guards itself
            self._error = exc
            self._ready.set()
            log.exception("gossip: thread of %s failed", self.node_id)
        finally:
            transport.close(linger=GOODBYE_LINGER_S)
            self._final_cpu = time.thread_time()


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
        self.out = Outbound(config, node_id, transport, self.counters, clock, live,
                            self._node_of)
        self.spreader = Spreader(config, self.out, shared.inbox, shared.outbox, self.counters,
                                 live, self.bulletin.event, self.rng)
        self.proofs = Proofs(config, self.out, transport.reaching, self.counters, self._reject,
                             self._proven, clock)
        owners = key_owners(transport.curve.allow_dir) if transport.curve else None
        self.gate = Gate(config, node_id, self.counters, self.proofs, owners, clock)
        self._published_version = -1

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
            self._guard("security", self._security)
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
        verdict = self.gate.admit(route, frames, peer_ip, key, via)
        standing, msg = verdict.standing, verdict.msg
        if standing is Standing.DROPPED:
            if verdict.reason is not None:
                self._reject(verdict.reason, verdict.sender, peer_ip)
            return
        assert msg is not None  # every standing but DROPPED carries its message
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
        for address in self.transport.take_dropped():
            self.counters.add("connections_dropped")
            self._dispatch(self.membership.connection_dropped(address, now))
        self._dispatch(self.membership.tick(now))
        self.proofs.expire(now)

    def _dispatch(self, sends: list[tuple[str, Any, dict[str, Any]]]) -> None:
        for kind, to, body in sends:
            if isinstance(to, Reply):
                self.out.reply(to.token, kind, body)
            else:
                self.out.send(to, kind, body)
        self._membership_events()

    def _round(self, now: float) -> None:
        self.spreader.round()
        self.out.sync(now, keep=self.proofs.challenges.pending)
        self._publish(force=True)
        self.bulletin.summarise_suppressed()

    # --- what the island and the run's events see ----------------------------------

    def _publish(self, force: bool) -> None:
        """Refresh the live-peer snapshot and peer gauges when membership changed."""
        membership, transport, counters = self.membership, self.transport, self.counters
        if not force and membership.local.version == self._published_version:
            return
        self._published_version = membership.local.version
        for state, n in membership.counts().items():
            counters.set(f"peers_{state}", n)
        counters.set("incarnation", membership.incarnation)
        counters.set("awareness", membership.local.probes.awareness)
        counters.set("events_dropped", self.shared.events.dropped)
        counters.set("connections_open", len(transport.connected))
        if transport.cap is not None:
            counters.set("connections_in", len(transport.cap))
            counters.set("connections_refused", transport.cap.refused)
        counters.set("identities_bound", len(self.proofs.bindings))
        counters.set("names_unresolved", transport.unresolved)
        counters.set("name_lookups_timed_out", transport.resolver.timeouts)
        counters.set("passive_refused", membership.passive.refused)
        self.shared.set_live(membership.live(), list(membership.passive))

    def _membership_events(self) -> None:
        """Write what membership noticed (joins, suspicions, deaths) as events."""
        for change in self.membership.drain_events():
            self.bulletin.post(msgspec.structs.replace(change, time=time.time()))

    def _security(self) -> None:
        """Count and log handshakes the CURVE server refused and peers we hold no key for."""
        for record in self.transport.take_security_events():
            self.counters.add("curve_rejected")
            self.counters.add(f"curve_rejected.{record['reason']}")
            self.bulletin.event("curve_rejected", **record)
        for address in self.transport.take_keyless():
            self.counters.add("peers_without_key")
            node = self.membership.node_of(address)
            self.bulletin.event("peer_without_key", peer=address, node=node)

    # --- CURVE ----------------------------------------------------------------------

    def _node_of(self, address: str) -> str | None:
        """Node id whose key the DEALER to `address` must expect (CURVE server key)."""
        return self.membership.node_of(address) or self.proofs.challenges.node_of(address)


class Bulletin:
    """The gossip thread's pen: events rate-limited per kind (a flood of rejects must not
    flood the run's events file; what was held back is summarised each round), error
    texts cut short, internal errors counted, written and logged only the first few times."""

    def __init__(self, shared: Shared, event_rate: float, clock: Callable[[], float]) -> None:
        self.shared, self.clock = shared, clock
        self.limit = EventLimiter(event_rate)
        self._errors_logged = 0

    def event(self, name: str, **fields: Any) -> None:
        """An event of kind `name` (gossip/events.py) with `fields`."""
        if self.limit.allow(name, self.clock()):
            self.shared.events.put(gossip_event(name, **fields))

    def post(self, event: GossipEvent) -> None:
        """An event already made (membership's peer changes)."""
        if self.limit.allow(event.event, self.clock()):
            self.shared.events.put(event)

    def internal_error(self, where: str, exc: Exception) -> None:
        """A bug or an input nobody foresaw: counted, written, and logged a few times."""
        self.shared.counters.add("internal_error")
        self.event("internal_error", where=where,
                   error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR_TEXT])
        if self._errors_logged < LOGGED_ERRORS:
            self._errors_logged += 1
            log.exception("gossip: internal error in %s", where)

    def summarise_suppressed(self) -> None:
        """One event and one counter per kind of event the rate limit held back."""
        for name, n in self.limit.summary().items():
            self.shared.counters.add(f"events_suppressed.{name}", n)
            self.shared.events.put(gossip_event("events_suppressed", suppressed=name, count=n))


def _bind_error(bind: str, exc: Exception) -> Exception:
    if isinstance(exc, AddressError):
        return ValueError(f"bind: {exc}")
    return OSError(f"gossip: cannot bind {bind}: {exc}")
