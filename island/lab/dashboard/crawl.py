"""Find every node through the nodes themselves: ask each known address for its status,
and add the live peers each reply lists. No coordinator: any node is a way in.

A node that stops answering is `suspect`, then `dead` after `dead_after` seconds
without an answer; one whose last status said it had stopped (a stop criterion or a
signal: a stopped node answers a few seconds more to say so) or was finishing (its
budget nearly spent) is `stopped`. Nodes are never forgotten, so a death stays visible.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import zmq

from gossip.address import AddressError, parse_address
from gossip.status import StatusCurve, query_status
from island.lab.dashboard.model import ALIVE, DEAD, STOPPED, SUSPECT, ArchipelagoView, NodeView

MAX_ROUNDS = 8  # crawl hops per poll: enough for a peer of a peer of ... to be found at once
MAX_PARALLEL = 32
MAX_NODES = 4096  # a reply may list any addresses: the crawl stops growing here


@dataclass
class Tracked:
    """What the crawler remembers of one address."""

    address: str
    curve: StatusCurve | None = None
    reply: dict[str, Any] | None = None
    last_ok: float | None = None  # monotonic time of its last answer
    answered: bool = False  # in the latest poll


class Crawler:
    """Polls the archipelago; `poll()` returns the view of it now."""

    def __init__(self, seeds: dict[str, str | None], curve: StatusCurve | None = None,
                 timeout: float = 2.0, dead_after: float = 10.0, refresh: float = 3.0):
        """`seeds` maps addresses to their CURVE public key (None: the --server-key, if any)."""
        self.curve, self.timeout = curve, timeout
        self.dead_after, self.refresh = dead_after, refresh
        self.known: dict[str, Tracked] = {}
        for address, key in seeds.items():
            self._add(address, key)

    def _add(self, address: str, key: str | None = None) -> None:
        if address in self.known:
            return
        curve = self.curve
        if curve is not None and key is not None:
            curve = replace(curve, server=key.encode())
        self.known[address] = Tracked(address, curve)

    def _ask(self, tracked: Tracked) -> dict[str, Any] | None:
        if tracked.curve is not None and not tracked.curve.server:
            return None  # a secured node whose public key nobody gave us cannot be asked
        try:
            return query_status(tracked.address, timeout=self.timeout, curve=tracked.curve)
        except (TimeoutError, ValueError, OSError, zmq.ZMQError):
            return None

    def poll(self) -> ArchipelagoView:
        """Ask every known address once, following newly listed peers for a few hops."""
        for tracked in self.known.values():
            tracked.answered = False
        asked: set[str] = set()
        with ThreadPoolExecutor(max_workers=MAX_PARALLEL) as pool:
            for _ in range(MAX_ROUNDS):
                batch = [t for a, t in self.known.items() if a not in asked]
                if not batch:
                    break
                asked.update(t.address for t in batch)
                for tracked, reply in zip(batch, pool.map(self._ask, batch), strict=True):
                    if reply is not None:
                        self._answered(tracked, reply)
        return self.view()

    def _answered(self, tracked: Tracked, reply: dict[str, Any]) -> None:
        tracked.reply, tracked.last_ok, tracked.answered = reply, time.monotonic(), True
        peers = reply.get("peers")
        for peer in peers if isinstance(peers, list) else []:
            if len(self.known) >= MAX_NODES:
                break
            try:
                self._add(parse_address(peer))
            except (AddressError, TypeError, AttributeError):
                continue  # not an address: nothing to ask

    def _state(self, tracked: Tracked, now: float) -> str:
        status = (tracked.reply or {}).get("status") or {}
        said = status.get("state") if isinstance(status, dict) else None
        if said == "stopped":
            return STOPPED
        if tracked.answered:
            return ALIVE
        if said == "finishing":
            return STOPPED
        return SUSPECT if now - (tracked.last_ok or 0.0) < self.dead_after else DEAD

    def view(self) -> ArchipelagoView:
        """Every address that ever answered, as a node; the others as unreachable."""
        now = time.monotonic()
        latest: dict[str, tuple[float, NodeView]] = {}
        unreachable = []
        for address, tracked in self.known.items():
            if tracked.reply is None:
                unreachable.append(address)
                continue
            view = NodeView.from_reply(address, tracked.reply, self._state(tracked, now),
                                       round(now - (tracked.last_ok or now), 1))
            # One row per node id: a seed line may name a node by another address than
            # the one it advertises, and a restarted node may come back elsewhere.
            if view.node not in latest or latest[view.node][0] < (tracked.last_ok or 0.0):
                latest[view.node] = (tracked.last_ok or 0.0, view)
        nodes = [latest[node][1] for node in sorted(latest)]
        return ArchipelagoView(time.time(), self.refresh, nodes, sorted(unreachable))
