"""SWIM's probe cycle and Lifeguard's local health, as plain state (no sockets, no clock).

Each protocol period a node pings one member, round-robin over a shuffled
list (Das et al. 2002, section 4.3: every member is probed within a bounded
time). No ack within the probe timeout: `indirect_probes` other members are
asked to ping it (`ping_req`); still nothing by the end of the period: the
member is suspected. Lifeguard (Dadgar et al. 2018) adds the local health
multiplier: a node that misses acks or nacks, or hears itself suspected,
trusts itself less and stretches its own period and timeouts, so a slow node
stops accusing healthy ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MAX_AWARENESS = 8  # memberlist's AwarenessMaxMultiplier
PROBE_TIMEOUT = 0.5  # of a period: memberlist's 500 ms ProbeTimeout at a 1 s ProbeInterval


@dataclass
class Probe:
    """The member being probed this period."""

    target: str
    nonce: str
    sent_at: float
    indirect_at: float
    acked: bool = False
    indirect_sent: bool = False
    nacks_expected: int = 0
    nacks: int = 0


class ProbeCycle:
    """Who to probe next, the probe in flight, and the awareness score that scales timing."""

    def __init__(self, period: float, rng: random.Random) -> None:
        self.period = period
        self.rng = rng
        self.awareness = 0
        self.current: Probe | None = None
        self._order: list[str] = []
        self._nonce = 0

    def scaled(self, seconds: float) -> float:
        """A period or timeout stretched by Lifeguard's local health multiplier."""
        return seconds * (1 + self.awareness)

    def adjust(self, delta: int) -> None:
        self.awareness = max(0, min(MAX_AWARENESS - 1, self.awareness + delta))

    def next_nonce(self, prefix: str) -> str:
        self._nonce += 1
        return f"{prefix}{self._nonce:x}"

    def start(self, members: list[str], now: float) -> Probe | None:
        """Begin probing the next member in round-robin order (reshuffled each pass)."""
        while self._order:
            target = self._order.pop()
            if target in members:
                break
        else:
            self._order = list(members)
            self.rng.shuffle(self._order)
            if not self._order:
                self.current = None
                return None
            target = self._order.pop()
        timeout = self.scaled(self.period * PROBE_TIMEOUT)
        self.current = Probe(target, self.next_nonce("p"), now, now + timeout)
        return self.current

    def finish(self) -> Probe | None:
        """End this period's probe; returns it when its target must be suspected.

        Lifeguard: an ack lowers the score; a failed probe raises it by the nacks
        that did not come (our own links may be at fault), or by one without helpers.
        """
        probe, self.current = self.current, None
        if probe is None:
            return None
        if probe.acked:
            self.adjust(-1)
            return None
        missing = probe.nacks_expected - probe.nacks
        self.adjust(missing if probe.nacks_expected else 1)
        return probe

    def cancel(self) -> None:
        """Forget the probe in flight without judging it (after this node itself stalled)."""
        self.current = None
