"""Which migrants may enter this island, and in what form (DESIGN.md, "Migration").

1. same spec fingerprint: the whole genome is injected;
2. another spec with the same rule family and both genomes carrying a rule:
   the migrant's rule is grafted onto this island's best and that is injected;
3. anything else is dropped as incompatible.

What enters is clipped to the search bounds (rule bounds, weights +-w_max),
where the network clips anyway: the same behaviour, and no far-off point for
CMA-ES.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genome.layout import clip_to_bounds, graft_rules
from genome.spec import GenomeSpec

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
    migrant_x: np.ndarray, w_max: float | None = None,
) -> Admission:
    """Decide how a migrant enters an island whose spec is `local_spec`."""
    if migrant_spec.fingerprint == local_spec.fingerprint:
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
