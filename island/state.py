"""What a node checkpoints: one typed, versioned document, and the rules for reading it.

The checkpoint payload (island/checkpoint.py frames it) is a msgpack map:

    version      CHECKPOINT_VERSION; any other version is refused with a message
    fingerprint  the genome spec's fingerprint; a checkpoint of another spec is refused
    island       Island.state(): counters, best-ever, elites, restart bookkeeping, and
                 pycma's strategy as `es.pickle_dumps()` bytes (the one pickle: see
                 Island.state for why)
    rng          {"seeds": JSON of numpy's PCG64 state (its 128-bit integers do not fit
                 msgpack), "numpy_global": numpy's global MT19937 state, which pycma
                 samples from, as [name, keys, pos, has_gauss, cached_gaussian]}
    evaluations  episode evaluations so far
    wall         seconds of wall time so far
    migration    MigrationCounters as a map
    champion     Champion.to_map()
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genome.layout import clip_to_bounds, initial_vector, search_bounds
from genome.spec import GenomeSpec
from island.champion import Champion
from island.checkpoint import CheckpointError, checkpoint_files, read_checkpoint, save_checkpoint
from island.cmaes_island import Island
from island.config import NodeConfig
from island.migration import MigrationCounters

CHECKPOINT_VERSION = 2
INIT_STREAM = 0x1417  # the random initial mean's own stream of the island seed


@dataclass
class NodeState:
    """Everything a node needs to go on where it stopped."""

    fingerprint: str
    island: Island
    seeds: np.random.Generator
    evaluations: int = 0
    wall: float = 0.0
    migration: MigrationCounters | None = None
    champion: Champion | None = None

    @classmethod
    def first(cls, config: NodeConfig, spec: GenomeSpec, w_max: float) -> NodeState:
        """A new run's state: CMA-ES at the genome's initial vector, seeded by the config."""
        evo = config.evolution
        bounds = search_bounds(spec, w_max)
        init = np.random.default_rng([evo.seed, INIT_STREAM]) if evo.init == "random" else None
        x0 = clip_to_bounds(spec, initial_vector(spec, init), w_max)
        island = Island(
            x0, evo.sigma, evo.popsize, evo.seed, evo.sep_above,
            evo.restarts, evo.stagnation, evo.max_popsize, config.migration.max_injected,
            bounds, evo.mirrored, evo.mean_rate,
        )
        return cls(spec.fingerprint, island, np.random.default_rng(evo.seed))

    @property
    def generation(self) -> int:
        return self.island.generation

    def to_map(self) -> dict[str, Any]:
        """The checkpoint document (see the module docstring)."""
        name, keys, pos, has_gauss, cached = np.random.get_state()
        return {
            "version": CHECKPOINT_VERSION, "fingerprint": self.fingerprint,
            "island": self.island.state(),
            "rng": {"seeds": json.dumps(self.seeds.bit_generator.state),
                    "numpy_global": [name, keys.tolist(), pos, has_gauss, cached]},
            "evaluations": self.evaluations, "wall": self.wall,
            "migration": asdict(self.migration or MigrationCounters()),
            "champion": (self.champion or Champion()).to_map(),
        }

    @classmethod
    def from_map(cls, document: dict[str, Any], source: str = "checkpoint") -> NodeState:
        """Check the version and rebuild; CheckpointError (one line) when it cannot be used."""
        version = document.get("version")
        if version != CHECKPOINT_VERSION:
            raise CheckpointError(f"{source}: checkpoint version {version!r}, this island-node "
                                  f"reads version {CHECKPOINT_VERSION}")
        try:
            seeds = np.random.default_rng()
            seeds.bit_generator.state = json.loads(document["rng"]["seeds"])
            name, keys, pos, has_gauss, cached = document["rng"]["numpy_global"]
            state = cls(
                fingerprint=document["fingerprint"],
                island=Island.from_state(document["island"]),
                seeds=seeds, evaluations=int(document["evaluations"]),
                wall=float(document["wall"]),
                migration=MigrationCounters(**document["migration"]),
                champion=Champion.from_map(document["champion"]),
            )
            np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
            return state
        except Exception as exc:  # a field missing or of the wrong shape: unusable, say so
            raise CheckpointError(f"{source}: unusable checkpoint content: "
                                  f"{type(exc).__name__}: {exc}") from None

    def save(self, run_dir: Path) -> Path:
        return save_checkpoint(run_dir, self.to_map())


def _read(path: Path) -> NodeState:
    return NodeState.from_map(read_checkpoint(path), str(path))


def load_latest(run_dir: Path) -> tuple[NodeState | None, list[str]]:
    """The newest usable checkpoint (or None) and the problems met on the way.

    None with no problems: this directory has no checkpoint (a fresh start is right).
    None with problems: checkpoints exist and none is usable (the node must not start
    fresh silently; see `--fresh`).
    """
    problems: list[str] = []
    for path in checkpoint_files(run_dir):
        try:
            return _read(path), problems
        except CheckpointError as exc:
            problems.append(str(exc))
    return None, problems
