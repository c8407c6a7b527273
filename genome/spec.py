"""The genome spec: kind, layer sizes and rule family, with a stable fingerprint.

Two islands can exchange whole genomes only when their fingerprints match; the
fingerprint hashes exactly what decides the meaning of each vector entry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from genome.rules import FAMILIES, MAX_RULE_PARAMS, RuleFamily

MAX_LAYERS = 8
MAX_WIDTH = 4096
MAX_DIM = 20_000_000


class SpecError(ValueError):
    """A genome spec that cannot describe a network."""


class GenomeKind(StrEnum):
    WEIGHTS = "weights"  # classic neuroevolution baseline, no plasticity
    RULES = "rules"  # pure meta-learning: random initial weights each lifetime
    WEIGHTS_RULES = "weights+rules"  # both evolved together

    @property
    def has_weights(self) -> bool:
        return self is not GenomeKind.RULES

    @property
    def has_rules(self) -> bool:
        return self is not GenomeKind.WEIGHTS


@dataclass(frozen=True)
class GenomeSpec:
    """What one flat genome vector means."""

    kind: GenomeKind
    layer_sizes: tuple[int, ...]  # (observation, hidden..., action)
    rule_family: str = "hebbian"
    fingerprint: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        try:
            kind = GenomeKind(self.kind)
        except ValueError:
            known = ", ".join(k.value for k in GenomeKind)
            raise SpecError(f"unknown genome kind {self.kind!r}; known kinds: {known}") from None
        object.__setattr__(self, "kind", kind)
        sizes = tuple(self.layer_sizes)
        if not 2 <= len(sizes) <= MAX_LAYERS + 1:
            raise SpecError(f"layer_sizes needs 2 to {MAX_LAYERS + 1} entries, got {len(sizes)}")
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in sizes):
            raise SpecError(f"layer_sizes must be integers, got {sizes!r}")
        if not all(1 <= s <= MAX_WIDTH for s in sizes):
            raise SpecError(f"every layer size must be in 1..{MAX_WIDTH}, got {sizes!r}")
        object.__setattr__(self, "layer_sizes", sizes)
        if self.rule_family not in FAMILIES:
            known = ", ".join(sorted(FAMILIES))
            raise SpecError(f"unknown rule family {self.rule_family!r}; known families: {known}")
        if self.kind.has_rules and self.n_rule_params > MAX_RULE_PARAMS:
            raise SpecError(
                f"a {self.rule_family} rule on {self.n_layers} layers has {self.n_rule_params} "
                f"parameters, more than {MAX_RULE_PARAMS}: use fewer hidden layers")
        if self.dim > MAX_DIM:
            raise SpecError(f"genome of {self.dim} parameters exceeds the limit of {MAX_DIM}")
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
        object.__setattr__(self, "fingerprint", digest)

    @property
    def family(self) -> RuleFamily:
        return FAMILIES[self.rule_family]

    @property
    def n_layers(self) -> int:
        return len(self.layer_sizes) - 1

    @property
    def layer_shapes(self) -> list[tuple[int, int]]:
        """(out, in) of each weight matrix."""
        return list(zip(self.layer_sizes[1:], self.layer_sizes[:-1], strict=True))

    @property
    def n_weights(self) -> int:
        """Weights and biases of the network (evolved or not)."""
        return sum(o * i + o for o, i in self.layer_shapes)

    @property
    def n_rule_params(self) -> int:
        return self.n_layers * self.family.n_params

    @property
    def dim(self) -> int:
        """Length of the flat genome vector CMA-ES searches."""
        return (self.n_weights if self.kind.has_weights else 0) + (
            self.n_rule_params if self.kind.has_rules else 0
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "layer_sizes": list(self.layer_sizes),
            "rule_family": self.rule_family,
        }

    @classmethod
    def from_dict(cls, data: Any) -> GenomeSpec:
        """Build a spec from untrusted data, raising SpecError with the reason."""
        if not isinstance(data, dict):
            raise SpecError(f"spec must be a map, got {type(data).__name__}")
        unknown = set(data) - {"kind", "layer_sizes", "rule_family"}
        if unknown:
            raise SpecError(f"unknown spec fields: {sorted(map(str, unknown))}")
        sizes = data.get("layer_sizes")
        if not isinstance(sizes, list | tuple):
            raise SpecError("spec.layer_sizes must be a list of integers")
        kind, family = data.get("kind"), data.get("rule_family", "hebbian")
        if not isinstance(kind, str) or not isinstance(family, str):
            raise SpecError("spec.kind and spec.rule_family must be strings")
        return cls(kind, tuple(sizes), family)  # type: ignore[arg-type]  # checked on init
