"""What a node checkpoints: one typed, versioned document, and the rules for reading it.

The checkpoint payload (island/checkpoint.py frames it) is `Checkpoint` as plain data
(island/plain.py, the one routine for every part). CHECKPOINT_VERSION is its one version
number: a file of another version is refused in one line (start anew with --fresh), and
no code reads an older shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genome.codec import GenomeDecodeError, decode_genome
from genome.layout import INITS, clip_to_bounds, initial_vector, search_bounds
from genome.spec import GenomeSpec
from gossip.options import ConfigError
from island.champion import Champion
from island.checkpoint import CheckpointError, checkpoint_files, read_checkpoint, save_checkpoint
from island.cmaes_island import Island, IslandState
from island.config import NodeConfig
from island.migration import MigrationCounters
from island.plain import from_plain, to_plain

# 3: every part through island/plain.py (2026-12); 4: the champion's best-confirmed genome
CHECKPOINT_VERSION = 4
INIT_STREAM = 0x1417  # the random initial mean's own stream of the island seed


@dataclass
class NumpyGlobal:
    """numpy's global MT19937 state, which pycma samples from (`np.random.get_state()`)."""

    name: str
    keys: list[int]
    pos: int
    has_gauss: int
    cached_gaussian: float

    @classmethod
    def now(cls) -> NumpyGlobal:
        name, keys, pos, has_gauss, cached = np.random.get_state()
        return cls(name, keys.tolist(), pos, has_gauss, cached)

    def restore(self) -> None:
        np.random.set_state((self.name, np.asarray(self.keys, dtype=np.uint32), self.pos,
                             self.has_gauss, self.cached_gaussian))


@dataclass
class Checkpoint:
    """The checkpoint document: a `NodeState` as plain data, with its version."""

    version: int
    fingerprint: str  # the genome spec's; a checkpoint of another spec is refused
    island: IslandState
    seeds: str  # the seed stream's PCG64 state as JSON (its 128-bit integers do not fit msgpack)
    numpy_global: NumpyGlobal
    evaluations: int  # episodes played so far
    wall: float  # seconds of wall time so far
    migration: MigrationCounters
    champion: Champion


def genome_to_continue(path: Path, spec: GenomeSpec) -> np.ndarray:
    """The vector of a saved genome a new run starts its CMA-ES mean at (evolution.init).

    Only a genome of the same spec (kind, layer sizes, family) means the same thing entry
    by entry; any other is refused in one line naming the option.
    """
    try:
        saved, x, _ = decode_genome(path.read_bytes())
    except (OSError, GenomeDecodeError) as exc:
        raise ConfigError(f"evolution.init (--init): {path}: {exc}") from None
    if saved.fingerprint != spec.fingerprint:
        raise ConfigError(
            f"evolution.init (--init): {path} is a {saved.kind.value} genome of layers "
            f"{saved.layer_sizes} and family {saved.rule_family!r}; this run evolves a "
            f"{spec.kind.value} genome of layers {spec.layer_sizes} and family "
            f"{spec.rule_family!r}")
    return x


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
        if evo.init in INITS:
            init = np.random.default_rng([evo.seed, INIT_STREAM]) if evo.init == "random" else None
            x0 = initial_vector(spec, init)
        else:
            x0 = genome_to_continue(Path(evo.init), spec)
        x0 = clip_to_bounds(spec, x0, w_max)
        island = Island(
            x0, evo.sigma, evo.early_popsize or evo.popsize, evo.seed, evo.sep_above,
            evo.restarts, evo.stagnation, evo.max_popsize, config.migration.max_injected,
            bounds, evo.mirrored, evo.mean_rate,
        )
        return cls(spec.fingerprint, island, np.random.default_rng(evo.seed))

    @property
    def generation(self) -> int:
        return self.island.generation

    def to_map(self) -> dict:
        """The checkpoint document as plain data (see `Checkpoint`)."""
        return to_plain(Checkpoint(
            CHECKPOINT_VERSION, self.fingerprint, self.island.state(),
            json.dumps(self.seeds.bit_generator.state), NumpyGlobal.now(), self.evaluations,
            self.wall, self.migration or MigrationCounters(), self.champion or Champion()))

    @classmethod
    def from_map(cls, document: dict, source: str = "checkpoint") -> NodeState:
        """Check the version and rebuild; CheckpointError (one line) when it cannot be used."""
        version = document.get("version")
        if version != CHECKPOINT_VERSION:
            age = "an older" if isinstance(version, int) and version < CHECKPOINT_VERSION \
                else "another"
            raise CheckpointError(f"{source}: written by {age} version of island-network "
                                  f"(checkpoint version {version!r}, this version reads "
                                  f"{CHECKPOINT_VERSION}); start anew with --fresh")
        try:
            saved = from_plain(Checkpoint, document)
            seeds = np.random.default_rng()
            seeds.bit_generator.state = json.loads(saved.seeds)
            state = cls(saved.fingerprint, Island.from_state(saved.island), seeds,
                        saved.evaluations, saved.wall, saved.migration, saved.champion)
            saved.numpy_global.restore()
        except Exception as exc:  # a field missing or of the wrong shape: unusable, say so
            raise CheckpointError(f"{source}: unusable checkpoint content: "
                                  f"{type(exc).__name__}: {exc}") from None
        return state

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
