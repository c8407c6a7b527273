"""Lifeguard's dynamic suspicion timeout (Dadgar et al. 2018, section 4.2; memberlist's
suspicion.go).

A suspicion starts with a long timeout, `max`, and shrinks toward `min` as
independent members report the same suspicion: with C confirmations of the k
expected,

    timeout = max(min, max - (max - min) log(C + 1) / log(k + 1)).

One slow or partitioned accuser so cannot kill a healthy member quickly, while a
member that really failed, suspected by its other neighbours too, dies after
`min` as before. The first accuser does not count as a confirmation.

The minimum is `dead_after` (SWIM's fixed timeout), where memberlist multiplies
its SuspicionMult x ProbeInterval by log10 of the cluster's size: its suspicions
reach the subject, and refutations the accusers, by epidemic in O(log N) rounds,
while here each accuser tells the subject directly and the subject refutes to
every accuser and neighbour directly (verdicts.py).

A death spreads as memberlist's `dead` message does, made safe against a liar:
a peer's word that its own timer ran out (`buried_by`) ends our suspicion at
once only when our own pings have found the member silent, with no answer in
between, for `dead_after` as well, timed from the first unanswered ping (sent as
soon as we heard of the suspicion). A live member answers those pings, so no
rumour of its death outweighs it; a crashed one is dropped by its last holder
within a few periods of the first holder's verdict instead of each holder
waiting out its own timer.
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
    silent_since: float | None = None  # when our first unanswered ping or probe of it was sent
    pinged_at: float | None = None  # our oldest ping of it since the suspicion began (an ack
    # from the member ends the suspicion, so a ping remembered here is unanswered)
    buried_by: set[str] = field(default_factory=set)  # peers whose own timer declared it dead

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

    def settled(self, now: float, quiet: float) -> bool:
        """Dead on others' verdict: a peer's timer ran out, and our own pings have gone
        unanswered for `quiet` seconds."""
        return (bool(self.buried_by) and self.silent_since is not None
                and now - self.silent_since >= quiet)
