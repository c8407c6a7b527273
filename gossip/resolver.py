"""Host-name lookups off the gossip thread, each with a timeout.

libzmq resolves a host name inside `connect`, on its I/O thread, and a
resolver that never answers then stalls every socket of the context (the
issue measured 40 s of silence and a node marked dead). The transport dials
IP addresses only: each name is looked up on a daemon thread here (at most
MAX_PENDING at once), and an answer that takes longer than `timeout` counts as
a failure (cached for a while), so the gossip thread never waits on DNS and a
stuck lookup never holds up the process's exit.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable

MAX_PENDING = 8  # lookups in flight; more are refused until some finish or time out
NEGATIVE_TTL = 30.0  # seconds a failed name stays failed
POSITIVE_TTL = 300.0


def _lookup(host: str) -> tuple[str, ...]:
    """Every address of `host` by the system resolver, IPv4 first.

    IPv4 first because a node's default bind (`0.0.0.0`) listens on IPv4 only,
    while many systems list `::1` first for `localhost`.
    """
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    found = dict.fromkeys(info[4][0] for info in infos)
    return tuple(sorted(found, key=lambda ip: ":" in ip))


def host_key(ip: str) -> str:
    """What two IPs share when they reach the same host: every loopback address is this host."""
    parsed = ipaddress.ip_address(ip)
    return "loopback" if parsed.is_loopback else parsed.compressed


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _Lookup:
    """One name being resolved on its own daemon thread."""

    def __init__(self, host: str, resolve: Callable[[str], tuple[str, ...]],
                 started: float) -> None:
        self.started = started
        self.done = threading.Event()
        self.result: tuple[str, ...] | None = None
        self._thread = threading.Thread(target=self._run, args=(host, resolve), daemon=True,
                                        name="gossip-resolve")
        self._thread.start()

    def _run(self, host: str, resolve: Callable[[str], tuple[str, ...]]) -> None:
        try:
            self.result = tuple(resolve(host)) or None
        except Exception:  # gaierror, UnicodeError, ...: the name does not resolve
            self.result = None
        self.done.set()


class Resolver:
    """`lookup(host)` answers from a cache at once, or starts a lookup and answers None.

    `resolve` returns every address of a name, preferred first.
    """

    def __init__(self, timeout: float,
                 resolve: Callable[[str], tuple[str, ...]] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self._resolve = resolve or _lookup
        self._clock = clock
        self._pending: dict[str, _Lookup] = {}
        self._stuck: list[_Lookup] = []  # timed out but still running: they count as in flight
        self._cache: dict[str, tuple[tuple[str, ...] | None, float]] = {}
        self.failures = 0
        self.timeouts = 0
        self.refused = 0

    def lookup(self, host: str) -> str | None:
        """The IP to dial for `host` if known now; None while unknown (a lookup runs meanwhile)."""
        ips = self.addresses(host)
        return ips[0] if ips else None

    def addresses(self, host: str) -> tuple[str, ...] | None:
        """Every IP of `host` if known now, preferred first; None while unknown."""
        if is_ip(host):
            return (host,)
        now = self._clock()
        self._collect(now)
        cached = self._cache.get(host)
        if cached is not None and now < cached[1]:
            return cached[0]
        if host in self._pending:
            return None
        if len(self._pending) + len(self._stuck) >= MAX_PENDING:
            self.refused += 1
            return None
        self._pending[host] = _Lookup(host, self._resolve, now)
        return None

    def _collect(self, now: float) -> None:
        for host, lookup in list(self._pending.items()):
            if lookup.done.is_set():
                del self._pending[host]
                if lookup.result is None:
                    self.failures += 1
                    self._cache[host] = (None, now + NEGATIVE_TTL)
                else:
                    self._cache[host] = (lookup.result, now + POSITIVE_TTL)
            elif now - lookup.started > self.timeout:
                del self._pending[host]  # its thread may hang on; nobody waits for it
                self._stuck.append(lookup)
                self.timeouts += 1
                self._cache[host] = (None, now + NEGATIVE_TTL)
        self._stuck = [lookup for lookup in self._stuck if not lookup.done.is_set()]
        if len(self._cache) > 4096:
            self._cache.clear()
