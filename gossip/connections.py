"""Bound the connections a node accepts, below its file limit, per source address and in all.

A stranger without a key could otherwise open connections until the process
runs out of file descriptors (issue 41 measured 1,100 stalled TCP connections
filling 1,024 descriptors in 4 s, then a "Too many open files" crash). So:
- the soft file limit is raised to the hard limit when a node starts;
- a connection that has not finished the ZeroMQ handshake within
  `dead_after` is closed by libzmq itself (ZMQ_HANDSHAKE_IVL);
- a socket monitor on the ROUTER sees every accepted connection with its file
  descriptor; one over the cap for its source address, or over the cap in all,
  is shut down at once and counted (`connections_refused`).
ZAP, the ZeroMQ Authentication Protocol, also sees the peer address but only
once the handshake starts, so it cannot refuse a connection that stalls before
it: the monitor sees them all.
"""

from __future__ import annotations

import contextlib
import resource
import socket
from collections import Counter
from collections.abc import Callable
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

FILE_SHARE = 0.5  # of the file limit, the most connections the ROUTER may hold in all
EVENTS = zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_CLOSED


def raise_file_limit() -> int:
    """Raise this process's soft limit of open files to its hard limit; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def total_cap(configured: int) -> int:
    """The cap in all: as configured, or FILE_SHARE of the file limit when 0."""
    if configured > 0:
        return configured
    return max(64, int(FILE_SHARE * resource.getrlimit(resource.RLIMIT_NOFILE)[0]))


def _peer_ip(fd: int, port: int | None) -> str | None:
    """The remote IP of a connection accepted on `port`, by its descriptor; None if the
    descriptor is gone or was reused meanwhile for something else (a dial of ours)."""
    sock = None
    try:
        sock = socket.socket(fileno=fd)  # wraps libzmq's descriptor; detached, never closed
        if port is not None and sock.getsockname()[1] != port:
            return None
        return sock.getpeername()[0]
    except OSError:
        return None
    finally:
        if sock is not None:
            sock.detach()


def _shut(fd: int) -> None:
    """End an accepted connection: libzmq sees the peer gone and closes its descriptor."""
    sock = None
    try:
        sock = socket.socket(fileno=fd)
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        if sock is not None:
            sock.detach()


class ConnectionCap:
    """Accepted connections by descriptor and source; over a cap, shut down and counted."""

    def __init__(self, router: zmq.Socket, per_source: int, total: int, other_events: int = 0,
                 on_other: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.per_source, self.total = per_source, total
        # A socket has one monitor: events others want (CURVE refusals) come through here.
        self.monitor = router.get_monitor_socket(EVENTS | other_events)
        self._on_other = on_other
        self.port: int | None = None  # the bound port, set once the ROUTER is bound
        self._source: dict[int, str] = {}  # descriptor -> source IP
        self._by_source: Counter[str] = Counter()
        self.refused = 0

    def __len__(self) -> int:
        return len(self._source)

    def read(self) -> None:
        """Handle every monitor event waiting (call when the monitor is readable)."""
        while True:
            try:
                event = recv_monitor_message(self.monitor, zmq.NOBLOCK)
            except zmq.Again:
                return
            fd, kind = event["value"], event["event"]
            if kind == zmq.EVENT_ACCEPTED:
                self._accepted(fd)
            elif kind in (zmq.EVENT_DISCONNECTED, zmq.EVENT_CLOSED):
                self._gone(fd)
            elif self._on_other is not None:
                self._on_other(event)

    def _accepted(self, fd: int) -> None:
        self._gone(fd)  # a reused descriptor: its earlier connection is over
        source = _peer_ip(fd, self.port)
        if source is None:
            return
        if self._by_source[source] >= self.per_source or len(self._source) >= self.total:
            self.refused += 1
            _shut(fd)
            return
        self._source[fd] = source
        self._by_source[source] += 1

    def _gone(self, fd: int) -> None:
        source = self._source.pop(fd, None)
        if source is not None:
            self._by_source[source] -= 1
            if self._by_source[source] <= 0:
                del self._by_source[source]

    def close(self, router: zmq.Socket) -> None:
        with contextlib.suppress(zmq.ZMQError):
            router.disable_monitor()
        self.monitor.close(linger=0)
