"""The outgoing half of a node's sockets: one DEALER per peer address, opened on demand.

A DEALER is opened only once its peer's host name has resolved (libzmq is only
ever given IP addresses) and, with CurveZMQ, once this node knows the peer's
public key; otherwise the send is skipped and counted (`unresolved`) or the
address is reported once as keyless. Every DEALER is registered with the
transport's poller, since replies come back on it.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable

import zmq

from gossip.address import is_ipv6, join_address, split_address
from gossip.config import GossipConfig
from gossip.curve import CurveKeys
from gossip.resolver import Resolver

DEALER_RCVHWM = 16  # a DEALER only ever receives nothing or a stray reply
MAX_HEARTBEAT_TTL_MS = 6_553_500  # libzmq sends the TTL in deciseconds in 16 bits


def common_options(sock: zmq.Socket, cfg: GossipConfig, ipv6: bool) -> None:
    """Options every socket of a node has: no linger, a size limit, ZMTP heartbeats."""
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, cfg.max_message_bytes)
    # ZMTP heartbeats notice a silent TCP peer (half-open connection) without our help.
    sock.setsockopt(zmq.HEARTBEAT_IVL, max(1, int(cfg.heartbeat_interval * 1000)))
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, max(1, int(cfg.dead_after * 1000)))
    sock.setsockopt(zmq.HEARTBEAT_TTL, min(MAX_HEARTBEAT_TTL_MS, int(cfg.dead_after * 1000)))
    if ipv6:
        sock.setsockopt(zmq.IPV6, 1)


def open_dealer(context: zmq.Context, cfg: GossipConfig, endpoint: str, rng: random.Random,
                curve: CurveKeys | None, server_key: bytes | None) -> zmq.Socket:
    """A DEALER connecting to `endpoint` (an IP address), as a CURVE client when keyed."""
    def jitter(seconds: float) -> int:
        return max(1, int(seconds * 1000 * rng.uniform(0.75, 1.25)))

    sock = context.socket(zmq.DEALER)
    try:
        common_options(sock, cfg, is_ipv6(endpoint))
        if curve is not None:
            sock.setsockopt(zmq.CURVE_SERVERKEY, server_key)
            sock.setsockopt(zmq.CURVE_PUBLICKEY, curve.public)
            sock.setsockopt(zmq.CURVE_SECRETKEY, curve.secret)
        sock.setsockopt(zmq.SNDHWM, cfg.send_hwm)
        sock.setsockopt(zmq.RCVHWM, DEALER_RCVHWM)
        # Queue while connecting (at most SNDHWM): the first message on a new dial is a
        # join or a prove, and must not be lost to the TCP handshake. Dials outside the
        # active view are closed a few periods after use, so a dead peer holds little.
        sock.setsockopt(zmq.IMMEDIATE, 0)
        # Jitter so hundreds of nodes that lost the same peer do not retry in lockstep.
        sock.setsockopt(zmq.RECONNECT_IVL, jitter(cfg.reconnect_ivl))
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, jitter(cfg.reconnect_ivl_max))
        # A secret routing id the ROUTER keeps across reconnects: the proof of this
        # connection's identity (identity.py) survives a dropped TCP connection.
        # (libzmq reserves ids that start with a zero byte).
        sock.setsockopt(zmq.ROUTING_ID, b"\x01" + secrets.token_bytes(15))
        sock.connect(endpoint)
    except Exception:
        sock.close(linger=0)
        raise
    return sock


class Dealers:
    """The open DEALERs by peer address, and the addresses that could not be dialled."""

    def __init__(self, context: zmq.Context, config: GossipConfig, rng: random.Random,
                 curve: CurveKeys | None, resolver: Resolver, poller: zmq.Poller) -> None:
        self.context, self.config, self._rng, self.curve = context, config, rng, curve
        self.resolver = resolver
        self._poller = poller
        self.unresolved = 0  # sends skipped while a host name was not (yet) resolved
        # Names the node id claimed at an address, to find its certificate (set by the engine).
        self.node_of: Callable[[str], str | None] = lambda address: None
        self._sockets: dict[str, zmq.Socket] = {}
        self._address_of: dict[zmq.Socket, str] = {}
        self._keyless: set[str] = set()
        self._reported_keyless: set[str] = set()

    @property
    def addresses(self) -> list[str]:
        return list(self._sockets)

    def address_of(self, sock: zmq.Socket) -> str | None:
        """The peer address of an open DEALER; None for any other socket."""
        return self._address_of.get(sock)

    def resolvable(self, address: str) -> bool:
        """Whether `address` can be dialled now (its host name, if any, is resolved)."""
        if self.resolver.lookup(split_address(address)[0]) is None:
            self.unresolved += 1
            return False
        return True

    def get(self, address: str) -> zmq.Socket | None:
        """The DEALER to `address`, opened now if need be; None when it cannot be yet."""
        sock = self._sockets.get(address)
        if sock is not None:
            return sock
        server_key = None
        if self.curve is not None:
            server_key = self.curve.server_key(address, self.node_of(address))
            if server_key is None:
                self._keyless.add(address)
                return None
            self._keyless.discard(address)
        host, port = split_address(address)
        ip = self.resolver.lookup(host)
        if ip is None:
            self.unresolved += 1
            return None
        sock = open_dealer(self.context, self.config, join_address(ip, port), self._rng,
                           self.curve, server_key)
        self._sockets[address] = sock
        self._address_of[sock] = address
        self._poller.register(sock, zmq.POLLIN)
        return sock

    def close(self, address: str, linger_ms: int = 0) -> None:
        """Close the DEALER to `address`, if open; `get` reopens it."""
        sock = self._sockets.pop(address, None)
        if sock is not None:
            self._address_of.pop(sock, None)
            self._poller.unregister(sock)
            sock.close(linger=linger_ms)

    def take_keyless(self) -> list[str]:
        """Addresses skipped for want of the peer's public key, each reported once."""
        keyless = sorted(self._keyless - self._reported_keyless)
        self._reported_keyless.update(keyless)
        return keyless
