"""Bounded, thread-safe queues between the island thread and the gossip thread.

Neither side may ever block on the other, so a full mailbox drops its oldest
item (the newest migrants and events are the ones worth keeping) and counts it.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    """FIFO of at most `size` items; `put` never blocks, `take` never waits."""

    def __init__(self, size: int) -> None:
        self._items: deque[T] = deque()
        self._size = size
        self._lock = threading.Lock()
        self.dropped = 0

    def put(self, item: T) -> bool:
        """Append `item`; False when an older item had to be dropped to make room."""
        with self._lock:
            self._items.append(item)
            if len(self._items) <= self._size:
                return True
            self._items.popleft()
            self.dropped += 1
            return False

    def take(self, limit: int | None = None) -> list[T]:
        """Remove and return up to `limit` items (all when None), oldest first."""
        with self._lock:
            n = len(self._items) if limit is None else max(0, min(limit, len(self._items)))
            return [self._items.popleft() for _ in range(n)]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
