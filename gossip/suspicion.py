"""Lifeguard's dynamic suspicion timeout (Dadgar et al. 2018, section 4.2; memberlist's
suspicion.go).

A suspicion starts with a long timeout, `max`, and shrinks toward `min` as
independent members report the same suspicion: with C confirmations of the k
expected,

    timeout = max(min, max - (max - min) log(C + 1) / log(k + 1)).

One slow or partitioned accuser so cannot kill a healthy member quickly, while a
member that really failed, suspected by its other neighbours too, dies after
`min` as before. The first accuser does not count as a confirmation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MAX_MULT = 6.0  # memberlist's SuspicionMaxTimeoutMult: max = 6 x min


@dataclass
class Suspicion:
    """One member's suspicion: when it began, who has reported it, and its timeout."""

    since: float
    expected: int  # k: confirmations that bring the timeout down to its minimum
    accusers: set[str] = field(default_factory=set)

    @property
    def confirmations(self) -> int:
        return max(0, len(self.accusers) - 1)

    def confirm(self, accuser: str) -> bool:
        """Count `accuser` once; False for a repeat, an unknown one, or past the k expected
        (a forged flood of accusers can bring the timeout down to `min`, no lower)."""
        if not accuser or accuser in self.accusers or self.confirmations >= self.expected:
            return False
        self.accusers.add(accuser)
        return len(self.accusers) > 1

    def timeout(self, minimum: float) -> float:
        """Seconds from `since` to death, given the minimum (SWIM's fixed) timeout."""
        if self.expected < 1:
            return minimum
        maximum = MAX_MULT * minimum
        fraction = math.log(self.confirmations + 1) / math.log(self.expected + 1)
        return max(minimum, maximum - fraction * (maximum - minimum))
