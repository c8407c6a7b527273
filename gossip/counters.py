"""Named integer counters shared between the gossip thread (writer) and readers."""

from __future__ import annotations

import re
import threading
from collections import Counter

_INDEX = re.compile(r"\[\d+\]")


class Counters:
    """A lock-protected `collections.Counter`; `snapshot()` is a plain dict copy."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def set(self, name: str, value: int) -> None:
        with self._lock:
            self._counts[name] = value

    def reject(self, reason: str) -> None:
        """Count a dropped message under `rejected.<reason>` with list indices folded.

        Folding (`migrants[7].fitness` -> `migrants[].fitness`) keeps the set of
        counter names small whatever a sender chooses to break.
        """
        with self._lock:
            self._counts["messages_rejected"] += 1
            self._counts["rejected." + _INDEX.sub("[]", reason)] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
