"""The sockets of one node: a bound ROUTER for requests in, one DEALER per peer out (dealers.py).

A DEALER also receives: the replies (ack, join_reply, ...) the peer sends back
on the connection this node dialled, which is why they can be trusted to come
from that address. Host names are resolved off this thread (resolver.py);
libzmq is only ever given IP addresses.

ZeroMQ sockets are not thread-safe, even behind a lock, so a Transport is
created, used and closed by the gossip thread alone. Every send is
non-blocking (a full or unconnected queue drops, the caller counts it), every
poll has a timeout, and LINGER 0 lets close never wait for a dead peer.

With CurveZMQ configured the ROUTER is a CURVE server (curve_server.py) that
admits only the public keys in the allow directory and reports the handshakes it
refused. Each DEALER is a CURVE client and opens only
to a peer whose public key this node already knows.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable
from typing import Any

import zmq

from gossip.address import is_ipv6, join_address, parse_address, split_address
from gossip.config import GossipConfig
from gossip.connections import ConnectionCap, total_cap
from gossip.curve import CurveKeys
from gossip.curve_server import HANDSHAKE_FAILURES, CurveServer
from gossip.dealers import SOCKETS_PER_DEALER, Dealers, common_options
from gossip.resolver import Resolver

log = logging.getLogger(__name__)


class Transport:
    """ROUTER bound at `config.bind`, DEALERs opened on demand per peer address."""

    def __init__(
        self, config: GossipConfig, rng: random.Random, curve: CurveKeys | None = None,
        resolve: Callable[[str], tuple[str, ...]] | None = None,
    ) -> None:
        self.config = config
        self.curve = curve
        self.resolver = Resolver(config.resolve_timeout, resolve)
        self.context = zmq.Context()
        # The active view plus bounded dials, each DEALER with its monitor: far below
        # libzmq's default of 1023 sockets.
        self.context.set(zmq.MAX_SOCKETS,
                         SOCKETS_PER_DEALER * (config.active_size + config.max_dials) + 64)
        self._poller = zmq.Poller()
        self.dealers = Dealers(self.context, config, rng, curve, self.resolver, self._poller)
        self._ready: list[zmq.Socket] = []
        self._server: CurveServer | None = None
        self.router = self.context.socket(zmq.ROUTER)
        self.cap: ConnectionCap | None = None
        try:
            if curve is not None:
                self._server = CurveServer(self.context, self.router, curve)
            self.cap = ConnectionCap(
                self.router, config.max_connections_per_source,
                total_cap(config.max_connections),
                sum(HANDSHAKE_FAILURES) if self._server else 0,
                self._server.note if self._server else None)
            self._poller.register(self.cap.monitor, zmq.POLLIN)
            self.address = bind_router(self.router, config)
            self.cap.port = split_address(
                self.router.get(zmq.LAST_ENDPOINT).decode(), allow_wildcard=True)[1]
        except Exception:
            self.close()
            raise
        self._poller.register(self.router, zmq.POLLIN)

    def poll(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for an incoming message or reply."""
        ready = dict(self._poller.poll(max(0, int(timeout * 1000))))
        if self.cap is not None and self.cap.monitor in ready:
            self.cap.read()
        for sock in ready:
            self.dealers.read_monitor(sock)
        self._ready = [sock for sock in ready if self.dealers.address_of(sock) is not None]
        return self.router in ready or bool(self._ready)

    def take_security_events(self) -> list[dict[str, Any]]:
        """Handshakes the CURVE server refused since the last call (reason, endpoint, errno)."""
        return [] if self._server is None else self._server.take_events()

    def take_dropped(self) -> list[str]:
        """Peers whose connection from this node dropped since the last call (a hint)."""
        return self.dealers.take_dropped()

    def take_keyless(self) -> list[str]:
        """Addresses a send or connect skipped for want of the peer's public key, each once."""
        return self.dealers.take_keyless()

    @property
    def unresolved(self) -> int:
        """Sends skipped while a host name was not (yet) resolved."""
        return self.dealers.unresolved

    def receive(self) -> tuple[bytes, list[bytes], str | None, str | None, str | None] | None:
        """One message: (routing id, frames, peer IP, sender's CURVE key, via), or None.

        The key is the ZAP handler's User-Id, the sender's Z85 public key; None without CURVE.
        `via` is None for a request on the ROUTER, or the address of the DEALER a reply
        came back on (then the routing id is empty).
        """
        try:
            frames = self.router.recv_multipart(zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return self._receive_reply()
        peer_ip = user_id = None
        with contextlib.suppress(zmq.ZMQError, AttributeError, KeyError):
            peer_ip = frames[-1].get("Peer-Address")
        if self.curve is not None:
            with contextlib.suppress(zmq.ZMQError, AttributeError, KeyError):
                user_id = frames[-1].get("User-Id")
        return frames[0].bytes, [f.bytes for f in frames[1:]], peer_ip, user_id, None

    def _receive_reply(self) -> tuple[bytes, list[bytes], None, None, str] | None:
        while self._ready:
            sock = self._ready[-1]
            address = self.dealers.address_of(sock)
            if address is None:  # closed since the poll
                self._ready.pop()
                continue
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                self._ready.pop()
                continue
            return b"", frames, None, None, address
        return None

    def send(self, address: str, payload: bytes, node: str | None = None) -> bool:
        """Queue `payload` for the peer at `address` (node id `node`, for its CURVE key);
        False if its queue is full, it is unconnected, or (CURVE) its public key is unknown."""
        sock = self.dealers.get(address, node)
        if sock is None:
            return False
        try:
            sock.send(payload, zmq.NOBLOCK)
        except zmq.Again:
            return False
        return True

    def reply(self, routing_id: bytes, payload: bytes) -> bool:
        """Answer through the ROUTER on the connection a request came in on."""
        try:
            self.router.send_multipart([routing_id, payload], zmq.NOBLOCK)
        except zmq.Again:
            return False
        return True

    def resolvable(self, address: str) -> bool:
        """Whether `address` can be dialled now (its host name, if any, is resolved)."""
        return self.dealers.resolvable(address)

    def reaching(self, address: str) -> str | None:
        """The address of an open DEALER to the same host and port as `address`, if any."""
        return self.dealers.reaching(address)

    def same_endpoint(self, address: str, known: str) -> bool:
        """Whether `address` is another spelling of the open DEALER `known`'s endpoint."""
        return self.dealers.same_endpoint(address, known)

    def rename(self, old: str, new: str) -> bool:
        """Key the DEALER to `old` by `new` (the address its peer advertises)."""
        return self.dealers.rename(old, new)

    def connect(self, address: str, node: str | None = None) -> None:
        """Open the DEALER to `address` ahead of the first send (connecting takes a moment)."""
        self.dealers.get(address, node)

    def disconnect(self, address: str, linger_ms: int = 0) -> None:
        """Close the DEALER to a peer that has been dead a while; `send` reopens it."""
        self.dealers.close(address, linger_ms)

    @property
    def connected(self) -> list[str]:
        return self.dealers.addresses

    def close(self, linger: float = 0.0) -> None:
        """Close every socket and end the context, giving messages still queued to peers
        at most `linger` seconds to leave (a node's goodbye), a dead peer no longer."""
        for address in self.dealers.addresses:
            self.disconnect(address, int(linger * 1000))
        if self.cap is not None:
            self.cap.close(self.router)
        self.router.close(linger=0)
        if self._server is not None:
            self._server.stop()
        self.context.term()


def bind_router(router: zmq.Socket, config: GossipConfig) -> str:
    """Bind the ROUTER and return the address peers should use (with the real port)."""
    host, port = split_address(config.bind, allow_port_zero=True, allow_wildcard=True)
    endpoint = join_address(host, port)  # port 0: libzmq picks a free port
    common_options(router, config, is_ipv6(endpoint))
    router.setsockopt(zmq.RCVHWM, config.recv_hwm)
    router.setsockopt(zmq.SNDHWM, config.send_hwm)
    router.setsockopt(zmq.ROUTER_MANDATORY, 0)  # an unroutable reply is dropped
    # A peer's DEALER that reconnects (its old TCP connection not yet seen dead here, e.g.
    # after a stall) keeps its secret routing id and so the identity it proved; without
    # handover libzmq gives the new connection a fresh id, and its migrants were dropped as
    # `unproven_sender` (issue 41's soak).
    router.setsockopt(zmq.ROUTER_HANDOVER, 1)
    # A connection silent before its handshake (a stalled stranger) holds a descriptor:
    # libzmq closes it after this long instead of its default 30 s.
    router.setsockopt(zmq.HANDSHAKE_IVL, max(1000, int(config.dead_after * 1000)))
    router.bind(endpoint)
    bound = router.get(zmq.LAST_ENDPOINT).decode()
    _, bound_port = split_address(bound, allow_port_zero=False, allow_wildcard=True)
    if config.advertise is not None:
        return parse_address(config.advertise)
    if host in ("*", "0.0.0.0"):
        # Reachable from this machine only; multi-machine runs must set --advertise.
        log.warning("gossip: advertising 127.0.0.1 for %s; set advertise", config.bind)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return join_address(host, bound_port)
