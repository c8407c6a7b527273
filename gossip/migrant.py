"""A migrant: one genome travelling between islands, and its checked wire map.

The receiving island re-evaluates every migrant itself (it enters CMA-ES only
through `inject`), so `claimed_fitness` is informational: it is logged, never
trusted.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from genome.codec import genome_from_map, genome_to_map
from genome.spec import GenomeSpec

ROLES = ("elite", "rule")
MAX_NODE_ID_CHARS = 128
MAX_ENV_ID_CHARS = 128
MAX_GENERATION = 2**63 - 1
MIGRANT_KEYS = frozenset({"origin", "generation", "fitness", "role", "env_id", "genome"})


class FieldError(ValueError):
    """A field that fails validation; `path` names it (e.g. `migrants[0].fitness`)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


@dataclass(eq=False)
class Migrant:
    """A genome from island `origin`, delivered by peer `sender` (the same unless relayed)."""

    origin: str
    sender: str
    spec: GenomeSpec
    x: np.ndarray
    claimed_fitness: float
    generation: int
    role: str  # "elite": a whole genome; "rule": sent for its learning rule
    env_id: str


def is_node_id(value: Any) -> bool:
    """Node ids are 1-128 printable characters without whitespace (they end up in logs)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_NODE_ID_CHARS
        and value.isprintable()
        and not any(c.isspace() for c in value)
    )


def migrant_to_map(migrant: Migrant) -> dict[str, Any]:
    """Wire map of a migrant we send; raises ValueError for one no peer would accept."""
    if not is_node_id(migrant.origin):
        raise ValueError(f"migrant origin {migrant.origin!r} is not a valid node id")
    if migrant.role not in ROLES:
        raise ValueError(f"migrant role {migrant.role!r} is not one of {ROLES}")
    if not isinstance(migrant.env_id, str) or len(migrant.env_id) > MAX_ENV_ID_CHARS:
        raise ValueError(f"migrant env_id must be text of at most {MAX_ENV_ID_CHARS} characters")
    fitness = float(migrant.claimed_fitness)
    if not math.isfinite(fitness):
        raise ValueError(f"migrant claimed fitness {fitness} is not finite")
    generation = int(migrant.generation)
    if not 0 <= generation <= MAX_GENERATION:
        raise ValueError(f"migrant generation {generation} out of range")
    x = np.asarray(migrant.x, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError("migrant genome holds NaN or infinite values")
    return {
        "origin": migrant.origin,
        "generation": generation,
        "fitness": fitness,
        "role": migrant.role,
        "env_id": migrant.env_id,
        "genome": genome_to_map(migrant.spec, x),
    }


def migrant_from_map(obj: Any, sender: str, path: str) -> Migrant:
    """Validate an untrusted migrant map; raises FieldError naming the first bad field."""
    if not isinstance(obj, dict) or set(obj) != MIGRANT_KEYS:
        raise FieldError(path)
    origin, generation, fitness = obj["origin"], obj["generation"], obj["fitness"]
    if not is_node_id(origin):
        raise FieldError(f"{path}.origin")
    if not isinstance(generation, int) or isinstance(generation, bool):
        raise FieldError(f"{path}.generation")
    if not 0 <= generation <= MAX_GENERATION:
        raise FieldError(f"{path}.generation")
    if not isinstance(fitness, float | int) or isinstance(fitness, bool):
        raise FieldError(f"{path}.fitness")
    if not math.isfinite(fitness):
        raise FieldError(f"{path}.fitness")
    if obj["role"] not in ROLES:
        raise FieldError(f"{path}.role")
    env_id = obj["env_id"]
    if not isinstance(env_id, str) or len(env_id) > MAX_ENV_ID_CHARS:
        raise FieldError(f"{path}.env_id")
    try:
        spec, x = genome_from_map(obj["genome"])
    except Exception:  # the codec raises GenomeDecodeError; anything else is hostile input too
        raise FieldError(f"{path}.genome") from None
    return Migrant(origin, sender, spec, x, float(fitness), generation, obj["role"], env_id)


def migrant_key(wire: dict[str, Any]) -> bytes:
    """Content key of a migrant map: the same genome relayed along two paths is one migrant."""
    genome = wire["genome"]
    digest = hashlib.blake2b(digest_size=16)
    for part in (wire["origin"], str(wire["generation"]), wire["role"], wire["env_id"]):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(genome["fingerprint"].encode())
    digest.update(genome["x"])
    return digest.digest()
