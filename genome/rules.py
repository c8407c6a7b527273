"""Learning-rule families: named per-layer parameters and their transforms from CMA-ES space.

CMA-ES searches an unbounded, roughly isotropic space; each parameter has a
transform to the value the rule uses. Rates that span orders of magnitude
(`eta`, `decay`) live on a log10 scale, clipped so a rule can never take a step
larger than the weights themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RuleParam:
    """One named parameter of a rule, for one layer."""

    name: str
    log10: bool
    initial: float  # natural units
    low: float  # bounds in CMA-ES (search) space, applied before the transform
    high: float
    doc: str

    def to_search(self, value: float) -> float:
        return float(np.log10(value)) if self.log10 else float(value)


@dataclass(frozen=True)
class RuleFamily:
    """A learning-rule family: the same parameters for every layer, independent of layer widths."""

    name: str
    params: tuple[RuleParam, ...]
    doc: str

    @property
    def n_params(self) -> int:
        return len(self.params)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def initial_search(self) -> np.ndarray:
        """Initial per-layer parameters in CMA-ES space, shape (n_params,)."""
        return np.array([p.to_search(p.initial) for p in self.params])

    def to_natural(self, z: np.ndarray) -> np.ndarray:
        """Map search-space parameters (..., n_params) to the values the rule uses."""
        low = np.array([p.low for p in self.params])
        high = np.array([p.high for p in self.params])
        z = np.clip(z, low, high)
        logs = np.array([p.log10 for p in self.params])
        return np.where(logs, np.power(10.0, np.where(logs, z, 0.0)), z)


_ETA = RuleParam("eta", True, 1e-2, -6.0, 0.0, "learning rate, log10 scale, at most 1")
_DECAY = RuleParam("decay", True, 1e-4, -8.0, -1.0, "weight decay towards zero, log10 scale")
_MOD = RuleParam("modulation", False, 0.0, -10.0, 10.0, "gain of the reward signal r_t")


def _coefficient(name: str, doc: str) -> RuleParam:
    return RuleParam(name, False, 0.0, -10.0, 10.0, doc)


HEBBIAN = RuleFamily(
    name="hebbian",
    params=(
        _ETA,
        _DECAY,
        _coefficient("hebbian", "A: correlation term post x pre"),
        _coefficient("pre", "B: presynaptic term"),
        _coefficient("post", "C: postsynaptic term"),
        _coefficient("bias", "D: constant drift"),
        _MOD,
    ),
    doc=(
        "Reward-modulated ABCD Hebbian rule (Soltoggio et al. 2007; Najarro & Risi 2020, "
        "per layer): dW = eta (A post x pre + B pre + C post + D)(1 + M r_t) - decay W"
    ),
)

OJA = RuleFamily(
    name="oja",
    params=(
        _ETA,
        _DECAY,
        _coefficient("hebbian", "A: gain of Oja's normalised correlation term"),
        _MOD,
    ),
    doc=(
        "Reward-modulated Oja rule (Oja 1982): dW = eta A post (pre - post W)(1 + M r_t) "
        "- decay W; the -post^2 W term keeps each neuron's weight norm near 1"
    ),
)

FAMILIES: dict[str, RuleFamily] = {f.name: f for f in (HEBBIAN, OJA)}


def get_family(name: str) -> RuleFamily:
    """Look up a family by name, naming the known ones when it is missing."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(
            f"unknown rule family {name!r}; known families: {', '.join(sorted(FAMILIES))}"
        ) from None
