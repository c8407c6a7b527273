"""What a caller may read of one node's membership: its views, counts and news.

The gossip thread, the status answer and the spread benchmark read these; only
`Membership` (membership.py) changes the state underneath, the node's `Local`.
"""

from __future__ import annotations

from typing import Any

from gossip.members import Local, Member
from gossip.probe import ProbeCycle
from gossip.verdicts import Verdicts
from gossip.views import SampleSet


class MembershipReadings:
    """Read-only answers over a node's `Local` state and its verdicts."""

    local: Local
    verdicts: Verdicts

    @property
    def self_addr(self) -> str:
        return self.local.self_addr

    @property
    def node_id(self) -> str:
        return self.local.node_id

    @property
    def incarnation(self) -> int:
        return self.local.incarnation

    @property
    def version(self) -> int:
        """Changes whenever the active view or a member's state changes."""
        return self.local.version

    @property
    def active(self) -> dict[str, Member]:
        return self.local.active

    @property
    def passive(self) -> SampleSet:
        return self.local.passive

    @property
    def probes(self) -> ProbeCycle:
        return self.local.probes

    def live(self) -> list[str]:
        """The active view: members not declared dead, this node's neighbours."""
        return list(self.local.active)

    def known(self) -> list[str]:
        return list(self.local.active) + list(self.local.passive)

    def member(self, address: str) -> Member | None:
        return self.local.active.get(address)

    def node_of(self, address: str) -> str | None:
        member = self.local.active.get(address)
        return member.node_id if member else self.local.passive.node_of.get(address) or None

    def counts(self) -> dict[str, int]:
        active = self.local.active
        suspects = sum(m.suspect_since is not None for m in active.values())
        return {"alive": len(active) - suspects, "suspect": suspects,
                "passive": len(self.local.passive), "dead": len(self.local.dead)}

    def group_size(self) -> int:
        return self.local.group_size()

    def suspicion_timeout(self) -> float:
        return self.verdicts.suspicion_timeout()

    def drain_events(self) -> list[dict[str, Any]]:
        events, self.local.events = self.local.events, []
        return events
