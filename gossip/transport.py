"""The sockets of one node: a bound ROUTER for everything incoming, one DEALER per peer out.

ZeroMQ sockets are not thread-safe, even behind a lock, so a Transport is
created, used and closed by the gossip thread alone. Every send is
non-blocking (a full or unconnected queue drops, the caller counts it), every
poll has a timeout, and LINGER 0 lets close never wait for a dead peer.
"""

from __future__ import annotations

import contextlib
import logging
import random

import zmq

from gossip.address import is_ipv6, join_address, parse_address, split_address
from gossip.config import GossipConfig

log = logging.getLogger(__name__)

DEALER_RCVHWM = 16  # a DEALER only ever receives nothing or a stray reply
MAX_HEARTBEAT_TTL_MS = 6_553_500  # libzmq sends the TTL in deciseconds in 16 bits


class Transport:
    """ROUTER bound at `config.bind`, DEALERs opened on demand per peer address."""

    def __init__(self, config: GossipConfig, rng: random.Random) -> None:
        self.config = config
        self._rng = rng
        self.context = zmq.Context()
        # libzmq's default of 1023 sockets would cap the peer table below max_peers.
        self.context.set(zmq.MAX_SOCKETS, config.max_peers + 64)
        self._dealers: dict[str, zmq.Socket] = {}
        self.router = self.context.socket(zmq.ROUTER)
        try:
            self.address = self._bind()
        except Exception:
            self.close()
            raise
        self._poller = zmq.Poller()
        self._poller.register(self.router, zmq.POLLIN)

    def _bind(self) -> str:
        """Bind the ROUTER and return the address peers should use (with the real port)."""
        host, port = split_address(self.config.bind, allow_port_zero=True, allow_wildcard=True)
        endpoint = join_address(host, port)  # port 0: libzmq picks a free port
        self._common_options(self.router, is_ipv6(endpoint))
        self.router.setsockopt(zmq.RCVHWM, self.config.recv_hwm)
        self.router.setsockopt(zmq.SNDHWM, self.config.send_hwm)
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 0)  # an unroutable reply is dropped
        self.router.bind(endpoint)
        bound = self.router.get(zmq.LAST_ENDPOINT).decode()
        _, bound_port = split_address(bound, allow_port_zero=False, allow_wildcard=True)
        if self.config.advertise is not None:
            return parse_address(self.config.advertise)
        if host in ("*", "0.0.0.0"):
            # Reachable from this machine only; multi-machine runs must set --advertise.
            log.warning("gossip: advertising 127.0.0.1 for %s; set advertise", self.config.bind)
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        return join_address(host, bound_port)

    def _common_options(self, sock: zmq.Socket, ipv6: bool) -> None:
        cfg = self.config
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, cfg.max_message_bytes)
        # ZMTP heartbeats notice a silent TCP peer (half-open connection) without our help.
        sock.setsockopt(zmq.HEARTBEAT_IVL, max(1, int(cfg.heartbeat_interval * 1000)))
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, max(1, int(cfg.dead_after * 1000)))
        sock.setsockopt(zmq.HEARTBEAT_TTL, min(MAX_HEARTBEAT_TTL_MS, int(cfg.dead_after * 1000)))
        if ipv6:
            sock.setsockopt(zmq.IPV6, 1)

    def poll(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for an incoming message."""
        return bool(self._poller.poll(max(0, int(timeout * 1000))))

    def receive(self) -> tuple[bytes, list[bytes], str | None] | None:
        """(routing id, frames after it, peer IP) of one waiting message, or None."""
        try:
            frames = self.router.recv_multipart(zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return None
        peer_ip = None
        with contextlib.suppress(zmq.ZMQError, AttributeError, KeyError):
            peer_ip = frames[-1].get("Peer-Address")
        return frames[0].bytes, [f.bytes for f in frames[1:]], peer_ip

    def send(self, address: str, payload: bytes) -> bool:
        """Queue `payload` for the peer at `address`; False if its queue is full or unconnected."""
        try:
            self._dealer(address).send(payload, zmq.NOBLOCK)
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

    def connect(self, address: str) -> None:
        """Open the DEALER to `address` ahead of the first send (connecting takes a moment)."""
        self._dealer(address)

    def disconnect(self, address: str) -> None:
        """Close the DEALER to a peer that has been dead a while; `send` reopens it."""
        sock = self._dealers.pop(address, None)
        if sock is not None:
            sock.close(linger=0)

    @property
    def connected(self) -> list[str]:
        return list(self._dealers)

    def _dealer(self, address: str) -> zmq.Socket:
        sock = self._dealers.get(address)
        if sock is not None:
            return sock
        cfg = self.config
        sock = self.context.socket(zmq.DEALER)
        try:
            self._common_options(sock, is_ipv6(address))
            sock.setsockopt(zmq.SNDHWM, cfg.send_hwm)
            sock.setsockopt(zmq.RCVHWM, DEALER_RCVHWM)
            # Queue only to completed connections: a send to a down peer drops at once.
            sock.setsockopt(zmq.IMMEDIATE, 1)
            # Jitter so hundreds of nodes that lost the same peer do not retry in lockstep.
            sock.setsockopt(zmq.RECONNECT_IVL, self._jitter(cfg.reconnect_ivl))
            sock.setsockopt(zmq.RECONNECT_IVL_MAX, self._jitter(cfg.reconnect_ivl_max))
            sock.connect(address)
        except Exception:
            sock.close(linger=0)
            raise
        self._dealers[address] = sock
        return sock

    def _jitter(self, seconds: float) -> int:
        return max(1, int(seconds * 1000 * self._rng.uniform(0.75, 1.25)))

    def close(self) -> None:
        """Close every socket without lingering and end the context."""
        for address in list(self._dealers):
            self.disconnect(address)
        self.router.close(linger=0)
        self.context.term()
