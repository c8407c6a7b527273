"""SIGINT/SIGTERM turned into a request to stop, caught from the first moment of a node.

A signal must end a node cleanly whenever it comes, even while Python is still
importing numpy and gymnasium, so the command line installs these handlers before
anything heavy and hands them to the node. Workers forward their signals to the
node (envs/pool.py), so a group signal arrives several times: the first names it.
"""

from __future__ import annotations

import signal
import time
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
WAIT_POLL_S = 0.1  # how often `wait` looks for a signal


class Shutdown:
    """Records the first stop signal; `restore()` puts the previous handlers back."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.signals = 0  # how many have come
        self._previous: dict[int, Any] = {}

    def install(self) -> Shutdown:
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.reason = self.reason or f"signal {signal.Signals(signum).name}"
        self.signals += 1

    def request(self, reason: str) -> None:
        """Stop for another cause (a worker lost), unless a signal came first."""
        self.reason = self.reason or reason

    @property
    def requested(self) -> bool:
        return self.reason is not None

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, less if a stop is requested; whether one was."""
        deadline = time.monotonic() + seconds
        while not self.requested and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(WAIT_POLL_S, left))
        return self.requested

    def wait_for_another(self, seconds: float) -> None:
        """Sleep up to `seconds`, less if another signal comes (a second Ctrl-C, or a
        group signal forwarded by the workers)."""
        seen, deadline = self.signals, time.monotonic() + seconds
        while self.signals == seen and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(WAIT_POLL_S, left))

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
