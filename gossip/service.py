"""`Gossip`, the gossip service the island holds: emit, drain, peers, counters, events, close.

One background thread owns every ZeroMQ socket (engine.py); the island thread only
touches bounded, locked mailboxes, so `emit` and `drain` never block and never share
a socket across threads. Create the evaluator's worker pool before starting a
Gossip (fork safety: a forked child must not inherit a ZeroMQ context).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from gossip.address import parse_address
from gossip.config import GossipConfig
from gossip.connections import raise_file_limit
from gossip.curve import load_curve_keys
from gossip.engine import SocketThread
from gossip.events import GossipEvent
from gossip.mailbox import FairInbox, Mailbox, Shared
from gossip.migrant import Migrant, is_node_id, migrant_to_map
from gossip.peers_file import PeerEntry, read_peers_file


class Gossip:
    """One node's membership in the network and its migrant exchange with peers.

    `status`, if given, is called from the gossip thread to answer
    `island-node status` queries: keep it cheap and thread-safe (return a
    snapshot), and return only msgpack-safe values (maps, lists, text, numbers).
    """

    def __init__(
        self,
        config: GossipConfig,
        node_id: str,
        status: Callable[[], dict[str, Any]] | None = None,
        seeds: Iterable[str] = (),
        resolve: Callable[[str], tuple[str, ...]] | None = None,
    ) -> None:
        if not is_node_id(node_id):
            raise ValueError(f"node id {node_id!r}: use 1-128 printable characters, no spaces")
        self.config = config
        self.node_id = node_id
        self._status = status
        self._extra_seeds = [parse_address(s) for s in seeds]
        self._resolve = resolve  # host name -> its IPs, preferred first (getaddrinfo when None)
        inbox: FairInbox[Migrant] = FairInbox(config.inbox_size, config.migrants_per_sender)
        self._shared = Shared(inbox=inbox, outbox=Mailbox(config.outbox_size))
        self._thread: SocketThread | None = None
        self._closed = False
        self._lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Read the peers file, bind, and start the gossip thread; raise if binding fails."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this Gossip is closed; make a new one")
            if self._thread is not None:
                return
            entries = self._read_peer_entries()
            seeds = list(dict.fromkeys(self._extra_seeds + [e.address for e in entries]))
            curve = None
            if self.config.curve_secret is not None and self.config.curve_allow is not None:
                curve = load_curve_keys(self.config.curve_secret, self.config.curve_allow, entries)
            raise_file_limit()  # the connection cap (connections.py) is a share of it
            self._thread = SocketThread(self.config, self.node_id, self._shared, self._status,
                                        self._resolve)
        try:
            self._thread.start(seeds, curve)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the thread and close every socket (LINGER 0); safe to call more than once."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            thread.stop()

    def __enter__(self) -> Gossip:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- what the island calls ------------------------------------------------------

    def emit(self, migrants: list[Migrant]) -> None:
        """Hand migrants to the gossip thread for `fanout` peers; never blocks.

        Raises ValueError for a migrant no peer would accept (wrong vector
        length, non-finite values); a full outbox drops the oldest, counted.
        """
        wires = [migrant_to_map(m) for m in migrants]
        for wire in wires:
            if not self._shared.outbox.put(wire):
                self._shared.counters.add("emit_dropped")

    def drain(self, limit: int | None = None) -> list[Migrant]:
        """Validated migrants received since the last call (at most `limit`).

        At most `migrants_per_sender` from each proven sender per call, taken in turns,
        so one peer cannot crowd out the others; the rest waits for the next call.
        """
        return self._shared.inbox.take(limit)

    def peers(self) -> list[str]:
        """Addresses of the live peers in the active view (the ones migrants go to)."""
        return self._shared.live()

    def passive_peers(self) -> list[str]:
        """The passive view as of the last protocol period: addresses to repair from."""
        return self._shared.passive()

    @property
    def address(self) -> str:
        """The address peers use for this node (with the real port when bound to port 0)."""
        address = self._thread.address if self._thread is not None else None
        if address is None:
            raise RuntimeError("the address is known once start() has bound the socket")
        return address

    def counters(self) -> dict[str, int]:
        """Counts of messages, migrants, drops by reason and peers by state."""
        return self._shared.counters.snapshot()

    def cpu_seconds(self) -> float:
        """CPU time the gossip thread has used, read from its own clock (for cost figures)."""
        return self._thread.cpu_seconds() if self._thread is not None else 0.0

    def events(self) -> list[GossipEvent]:
        """Event records since the last call (peer changes, migrants sent and received, rejects)."""
        return self._shared.events.take()

    # --- the peers file -------------------------------------------------------------

    def _read_peer_entries(self) -> list[PeerEntry]:
        if not self.config.peers:
            return []
        own = [self.config.bind] + ([self.config.advertise] if self.config.advertise else [])
        return read_peers_file(self.config.peers, own=own)
