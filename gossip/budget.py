"""Budgets that keep one sender, one address or one kind of event from owning the node.

Token buckets (rate per second, burst of `burst` tokens) keyed per sender and
per event kind; a dial limiter with a global rate and a per-address
exponential back-off. Every table is bounded (least recently used leave
first), so a flood of distinct keys costs memory no more than a flood of one.
"""

from __future__ import annotations

from collections import OrderedDict


class TokenBuckets:
    """One token bucket per key; `allow` spends a token or says no."""

    def __init__(self, rate: float, burst: float, size: int = 4096) -> None:
        self.rate, self.burst, self.size = rate, burst, size
        self._buckets: OrderedDict[object, list[float]] = OrderedDict()  # key -> [tokens, at]

    def allow(self, key: object, now: float) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = [self.burst, now]
            self._buckets[key] = bucket
            if len(self._buckets) > self.size:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        if bucket[0] < 1.0:
            return False
        bucket[0] -= 1.0
        return True


class DialLimiter:
    """New outgoing connections: `rate` per second overall, and back-off per failing address."""

    def __init__(self, rate: float, backoff_max: float, size: int = 4096) -> None:
        self._rate = TokenBuckets(rate, max(2.0, rate))
        self.backoff_max = backoff_max
        self.size = size
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # -> (n, retry at)
        self.refused = 0

    def allow(self, address: str, now: float) -> bool:
        failure = self._failures.get(address)
        if failure is not None and now < failure[1]:
            self.refused += 1
            return False
        if not self._rate.allow("dials", now):
            self.refused += 1
            return False
        return True

    def failed(self, address: str, now: float) -> None:
        """The address did not answer: wait 1, 2, 4, ... s (capped) before dialling it again."""
        n = self._failures.pop(address, (0, 0.0))[0] + 1
        self._failures[address] = (n, now + min(self.backoff_max, 2.0 ** (n - 1)))
        while len(self._failures) > self.size:
            self._failures.popitem(last=False)

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)


class EventLimiter:
    """At most `rate` events of each kind per second; the rest are counted for a summary."""

    def __init__(self, rate: float) -> None:
        self._buckets = TokenBuckets(rate, 2 * rate, size=256)
        self._suppressed: dict[str, int] = {}

    def allow(self, name: str, now: float) -> bool:
        if self._buckets.allow(name, now):
            return True
        if name in self._suppressed or len(self._suppressed) < 256:
            self._suppressed[name] = self._suppressed.get(name, 0) + 1
        return False

    def summary(self) -> dict[str, int]:
        """Events suppressed per kind since the last summary."""
        out, self._suppressed = self._suppressed, {}
        return out
