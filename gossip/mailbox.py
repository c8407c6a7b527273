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


class FairInbox(Generic[T]):
    """Received migrants queued per sender; each `take` hands out at most `per_sender` of each.

    One peer cannot crowd out the others: a flood from one sender only
    overflows that sender's own queue (oldest dropped, counted).
    """

    def __init__(self, size: int, per_sender: int, max_senders: int = 256) -> None:
        self._queues: dict[str, deque[T]] = {}
        self._size = size
        self._per_sender = per_sender
        self._max_senders = max_senders
        self._lock = threading.Lock()
        self.dropped = 0

    def put(self, sender: str, item: T) -> bool:
        """Queue `item` from `sender`; False when something had to be dropped for it."""
        with self._lock:
            queue = self._queues.get(sender)
            if queue is None:
                if len(self._queues) >= self._max_senders:
                    self.dropped += 1
                    return False
                queue = self._queues[sender] = deque()
            queue.append(item)
            if len(queue) <= self._size:
                return True
            queue.popleft()
            self.dropped += 1
            return False

    def take(self, limit: int | None = None) -> list[T]:
        """Round-robin over senders, oldest first, at most `per_sender` each and `limit` in all."""
        out: list[T] = []
        with self._lock:
            for _ in range(self._per_sender):
                for sender in list(self._queues):
                    if limit is not None and len(out) >= limit:
                        return out
                    queue = self._queues[sender]
                    if queue:
                        out.append(queue.popleft())
                    if not queue:
                        del self._queues[sender]
        return out

    def __len__(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._queues.values())
