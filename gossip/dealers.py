"""The outgoing half of a node's sockets: one DEALER per peer address, opened on demand.

A DEALER is opened only once its peer's host name has resolved (libzmq is only
ever given IP addresses) and, with CurveZMQ, once this node knows the peer's
public key; otherwise the send is skipped and counted (`unresolved`) or the
address is reported once as keyless. Every DEALER is registered with the
transport's poller, since replies come back on it.

A peer may be named one way here (`localhost:5555` in a peers file) and
advertise another (`tcp://127.0.0.1:5555`); `reaching` finds the open DEALER
whose resolved endpoint is the same host and port, however either is written.
"""

from __future__ import annotations

import random
import secrets

import zmq
from zmq.utils.monitor import recv_monitor_message

from gossip.address import is_ipv6, join_address, split_address
from gossip.config import GossipConfig
from gossip.curve import CurveKeys
from gossip.resolver import Resolver, host_key

DEALER_RCVHWM = 16  # a DEALER only ever receives nothing or a stray reply
MAX_HEARTBEAT_TTL_MS = 6_553_500  # libzmq sends the TTL in deciseconds in 16 bits
# An established connection to the peer ended. Not EVENT_CLOSED: libzmq also sends it for
# every failed reconnect to a peer already gone, which tells membership nothing new.
DROP_EVENTS = zmq.EVENT_DISCONNECTED
SOCKETS_PER_DEALER = 3  # the DEALER, its monitor's PAIR and libzmq's end of that pair
MAX_DROPS = 256  # dropped-connection hints kept between two reads (a bound, never reached)


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
        self._sockets: dict[str, zmq.Socket] = {}
        self._address_of: dict[zmq.Socket, str] = {}
        self._monitors: dict[str, zmq.Socket] = {}  # address -> its DEALER's monitor
        self._monitored: dict[zmq.Socket, str] = {}  # monitor -> address
        self._dropped: list[str] = []
        self._endpoint: dict[str, tuple[str, int]] = {}  # address -> (host key, port) dialled
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

    def get(self, address: str, node: str | None = None) -> zmq.Socket | None:
        """The DEALER to `address`, opened now if need be; None when it cannot be yet.

        `node` is the node id believed to listen there, to find its certificate (CURVE)."""
        sock = self._sockets.get(address)
        if sock is not None:
            return sock
        server_key = None
        if self.curve is not None:
            server_key = self.curve.server_key(address, node)
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
        self._endpoint[address] = (host_key(ip), port)
        self._poller.register(sock, zmq.POLLIN)
        monitor = sock.get_monitor_socket(DROP_EVENTS)
        self._monitors[address] = monitor
        self._monitored[monitor] = address
        self._poller.register(monitor, zmq.POLLIN)
        return sock

    def read_monitor(self, monitor: zmq.Socket) -> bool:
        """Read a readable monitor's events; False if `monitor` is not one of ours."""
        address = self._monitored.get(monitor)
        if address is None:
            return False
        while True:
            try:
                event = recv_monitor_message(monitor, zmq.NOBLOCK)
            except zmq.Again:
                return True
            if event["event"] & DROP_EVENTS and len(self._dropped) < MAX_DROPS:
                self._dropped.append(address)

    def take_dropped(self) -> list[str]:
        """Addresses whose connection dropped since the last call, each once."""
        dropped, self._dropped = list(dict.fromkeys(self._dropped)), []
        return [address for address in dropped if address in self._sockets]

    def close(self, address: str, linger_ms: int = 0) -> None:
        """Close the DEALER to `address`, if open; `get` reopens it."""
        sock = self._sockets.pop(address, None)
        self._endpoint.pop(address, None)
        monitor = self._monitors.pop(address, None)
        if monitor is not None:
            self._monitored.pop(monitor, None)
            self._poller.unregister(monitor)
            if sock is not None:
                sock.disable_monitor()
            monitor.close(linger=0)
        if sock is not None:
            self._address_of.pop(sock, None)
            self._poller.unregister(sock)
            sock.close(linger=linger_ms)

    def reaching(self, address: str) -> str | None:
        """The open DEALER's address that reaches the same host and port as `address`
        (itself if open); None when none does or `address`'s name is not resolved yet."""
        if address in self._sockets:
            return address
        return next((known for known in self._endpoint if self.same_endpoint(address, known)),
                    None)

    def same_endpoint(self, address: str, known: str) -> bool:
        """Whether `address` resolves to the host and port the open DEALER `known` dialled."""
        dialled = self._endpoint.get(known)
        if dialled is None:
            return False
        host, port = split_address(address)
        if port != dialled[1]:
            return False
        ips = self.resolver.addresses(host)
        return bool(ips) and any(host_key(ip) == dialled[0] for ip in ips)

    def rename(self, old: str, new: str) -> bool:
        """Key the open DEALER to `old` by `new`, the address its peer advertises: the
        connection it proved on stays the one we use. False when `new` has its own."""
        if new in self._sockets or old not in self._sockets:
            return False
        sock = self._sockets.pop(old)
        self._sockets[new] = sock
        self._address_of[sock] = new
        self._endpoint[new] = self._endpoint.pop(old)
        monitor = self._monitors.pop(old)
        self._monitors[new] = monitor
        self._monitored[monitor] = new
        return True

    def take_keyless(self) -> list[str]:
        """Addresses skipped for want of the peer's public key, each reported once."""
        keyless = sorted(self._keyless - self._reported_keyless)
        self._reported_keyless.update(keyless)
        return keyless
