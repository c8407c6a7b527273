"""What the gossip thread hands the island thread, and how it writes its events there.

`Shared` is the only state both threads touch (bounded mailboxes, counters, a
snapshot of the live peers); each part does its own locking. `Bulletin` is the
gossip thread's pen: events are rate-limited per kind (a flood of rejects must
not flood the run's events file; what was suppressed is summarised each round),
error texts are cut short, and internal errors are counted, written as events
and logged with their traceback only the first few times.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gossip.budget import EventLimiter
from gossip.counters import Counters
from gossip.mailbox import FairInbox, Mailbox
from gossip.migrant import Migrant

log = logging.getLogger("gossip.engine")

MAX_EVENTS = 10_000
MAX_ERROR_TEXT = 200
LOGGED_ERRORS = 20  # tracebacks written to the log before going quiet


@dataclass
class Shared:
    """Everything both threads touch; each part does its own locking."""

    inbox: FairInbox[Migrant]
    outbox: Mailbox[dict[str, Any]]
    events: Mailbox[dict[str, Any]] = field(default_factory=lambda: Mailbox(MAX_EVENTS))
    counters: Counters = field(default_factory=Counters)
    _live: list[str] = field(default_factory=list)
    _passive: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set_live(self, peers: list[str], passive: list[str] | None = None) -> None:
        with self._lock:
            self._live = list(peers)
            if passive is not None:
                self._passive = list(passive)

    def passive(self) -> list[str]:
        with self._lock:
            return list(self._passive)

    def live(self) -> list[str]:
        with self._lock:
            return list(self._live)


class Bulletin:
    """Events and internal errors of the gossip thread, written into `Shared`."""

    def __init__(self, shared: Shared, event_rate: float, clock: Callable[[], float]) -> None:
        self.shared, self.clock = shared, clock
        self.limit = EventLimiter(event_rate)
        self._errors_logged = 0

    def event(self, name: str, **fields: Any) -> None:
        if not self.limit.allow(name, self.clock()):
            return
        if "error" in fields:
            fields["error"] = str(fields["error"])[:MAX_ERROR_TEXT]
        self.shared.events.put({"time": time.time(), "event": name, **fields})

    def internal_error(self, where: str, exc: Exception) -> None:
        """A bug or an input nobody foresaw: counted, written, and logged a few times."""
        self.shared.counters.add("internal_error")
        self.event("internal_error", where=where, error=f"{type(exc).__name__}: {exc}")
        if self._errors_logged < LOGGED_ERRORS:
            self._errors_logged += 1
            log.exception("gossip: internal error in %s", where)

    def summarise_suppressed(self) -> None:
        """One event and one counter per kind of event the rate limit held back."""
        for name, n in self.limit.summary().items():
            self.shared.counters.add(f"events_suppressed.{name}", n)
            self.shared.events.put({"time": time.time(), "event": "events_suppressed",
                                    "suppressed": name, "count": n})
