"""Migrants in and out of one island (DESIGN.md, "Migration between different islands").

Two roles leave an island: every `interval` generations its `migrants` best
samples as "elite" (a whole genome), and, when it validates a champion and its
genome carries a rule, that champion as "rule" (offered for its learning rule
alone: the question a receiver asks is whether the rule teaches *its* weights).

Admission, by spec and role:
1. same spec fingerprint, an elite (or a rule, when the genome is the rule):
   the whole genome is injected;
2. a rule, or another spec with the same rule family, both genomes carrying a
   rule: the migrant's rule is grafted onto this island's best and that is
   injected;
3. anything else is dropped as incompatible.

What enters is clipped to the search bounds (rule bounds, weights +-w_max),
where the network clips anyway: the same behaviour, and no far-off point for
CMA-ES. Every migrant is counted and logged as an event, with what it measured
here once scored (a peer's claimed fitness is never trusted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genome.layout import clip_to_bounds, graft_rules
from genome.spec import GenomeSpec
from island.cmaes_island import Elite, Island, Population

ELITE, RULE = "elite", "rule"  # migrant roles (gossip.ROLES)
ACCEPTED = "accepted"
GRAFTED = "grafted"
INCOMPATIBLE = "incompatible"


@dataclass
class Admission:
    """What to inject (None when dropped) and why."""

    outcome: str
    x: np.ndarray | None
    reason: str = ""


def admit(
    local_spec: GenomeSpec, local_best: np.ndarray, migrant_spec: GenomeSpec,
    migrant_x: np.ndarray, w_max: float | None = None, role: str = ELITE,
) -> Admission:
    """Decide how a migrant enters an island whose spec is `local_spec`."""
    rule_only = role == RULE and local_spec.kind.has_weights
    if migrant_spec.fingerprint == local_spec.fingerprint and not rule_only:
        return Admission(ACCEPTED, clip_to_bounds(local_spec, migrant_x, w_max))
    if not (local_spec.kind.has_rules and migrant_spec.kind.has_rules):
        return Admission(INCOMPATIBLE, None, "no learning rule on one side")
    if local_spec.rule_family != migrant_spec.rule_family:
        return Admission(
            INCOMPATIBLE, None,
            f"rule family {migrant_spec.rule_family} != {local_spec.rule_family}",
        )
    grafted = graft_rules(local_spec, local_best, migrant_spec, migrant_x)
    return Admission(GRAFTED, clip_to_bounds(local_spec, grafted, w_max))


@dataclass
class MigrationCounters:
    """Migration counts of this island, checkpointed with it (gossip has its own Counters)."""

    received: int = 0
    accepted: int = 0
    grafted: int = 0
    incompatible: int = 0
    injected: int = 0
    over_cap: int = 0
    sent: int = 0
    became_best: int = 0
    by_origin: dict[str, int] = field(default_factory=dict)


Event = Callable[..., None]  # RunDirectory.event: (kind, **fields)


class Migration:
    """Admits received migrants into an island, follows them to their score, picks elites."""

    def __init__(self, spec: GenomeSpec, w_max: float, event: Event,
                 counters: MigrationCounters | None = None):
        self.spec = spec
        self.w_max = w_max
        self.event = event
        self.counters = counters or MigrationCounters()
        self._injected: dict[int, tuple[Any, str]] = {}  # injection id -> (migrant, outcome)

    def receive(self, migrants: Iterable[Any], island: Island) -> None:
        """Admit each migrant (gossip.Migrant) and inject it; every one becomes an event."""
        c = self.counters
        for migrant in migrants:
            c.received += 1
            c.by_origin[migrant.origin] = c.by_origin.get(migrant.origin, 0) + 1
            admission = admit(self.spec, island.best.x, migrant.spec, migrant.x, self.w_max,
                              migrant.role)
            record = dict(origin=migrant.origin, sender=migrant.sender, role=migrant.role,
                          generation=island.generation, sent_generation=migrant.generation,
                          claimed=migrant.claimed_fitness, env=migrant.env_id,
                          outcome=admission.outcome, reason=admission.reason)
            if admission.outcome == INCOMPATIBLE:
                c.incompatible += 1
                self.event("migrant_dropped", **record)
                continue
            ids = island.inject([admission.x])
            if not ids:
                c.over_cap += 1
                self.event("migrant_dropped", **{**record, "reason": "injection cap"})
                continue
            c.injected += 1
            c.grafted += admission.outcome == GRAFTED
            c.accepted += admission.outcome == ACCEPTED
            self._injected[ids[0]] = (migrant, admission.outcome)
            self.event("migrant_injected", **record)

    def measured(self, population: Population, fitness: np.ndarray, island: Island,
                 improved: bool) -> None:
        """Log what each injected migrant scored here, found by the id `ask` handed back."""
        for injection, row in population.injected.items():
            if injection not in self._injected:
                continue
            migrant, outcome = self._injected[injection]
            best = bool(improved and np.array_equal(island.best.x, population.X[row]))
            self.counters.became_best += best
            self.event("migrant_evaluated", origin=migrant.origin, outcome=outcome,
                       claimed=migrant.claimed_fitness, measured=float(fitness[row]),
                       became_best=best, generation=island.generation)
        self._injected.clear()  # ids not in this population were lost to a strategy reset

    def outgoing(self, island: Island, count: int, node_id: str, env_id: str,
                 champion: Elite | None = None) -> list[Any]:
        """This island's `count` best of the last generation as elites, and its validated
        `champion` as a rule when the genome carries one (gossip.Migrant each)."""
        from gossip import Migrant

        roles = [(e, ELITE) for e in island.elites(count)]
        if champion is not None and self.spec.kind.has_rules:
            roles.append((champion, RULE))
        # A strategy that broke down can sample non-finite genomes; they never leave.
        roles = [(e, role) for e, role in roles if np.all(np.isfinite(e.x))]
        self.counters.sent += len(roles)
        return [Migrant(origin=node_id, sender=node_id, spec=self.spec, x=e.x,
                        claimed_fitness=e.fitness, generation=e.generation, role=role,
                        env_id=env_id) for e, role in roles]
