"""A saved genome as the tools read it: the genome, and what it takes to score it again.

`best.msgpack` (island/outcome.py writes it) holds a genome and a map of what
its run used: the environment(s) it was evolved on, the episode cap, the
lifetime and its fitness, the weight bound, whether its inputs were scaled.
island-eval, island-transfer and island-report all score saved genomes, so they
read that map here, and each reads it the same way, files of older runs included.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from envs import EvalSettings
from genome.codec import decode_genome
from genome.layout import W_MAX
from genome.spec import GenomeSpec
from island.lab.rule_study import TransferError, fit_to_env
from island.record import GenomeMeta, convert


@dataclass(frozen=True)
class GenomeFile:
    """A decoded genome file; `scored_in` gives what scoring it in an environment needs."""

    spec: GenomeSpec
    x: np.ndarray
    meta: GenomeMeta

    @classmethod
    def read(cls, path: Path) -> GenomeFile:
        """Raises OSError when unreadable, GenomeDecodeError when it is not a genome,
        RecordError when its metadata is not this version's."""
        spec, x, meta = decode_genome(Path(path).read_bytes())
        return cls(spec, x, convert(meta, GenomeMeta, str(path)))

    @property
    def env(self) -> str | None:
        """The environment its network was sized for (the first it was evolved on)."""
        return self.meta.env or None

    @property
    def trained_on(self) -> list[str]:
        """Every environment it was evolved on."""
        return list(self.meta.envs) or ([self.env] if self.env else [])

    @property
    def lifetime(self) -> int:
        """Episodes per lifetime it was evolved with."""
        return self.meta.lifetime

    @property
    def trained_in(self) -> str:
        """The simulator that stepped its training episodes (files of older runs: gymnasium)."""
        return self.meta.simulator

    def scored_in(self, env_id: str | None = None, lifetime_fitness: str | None = None,
                  simulator: str = "gymnasium") -> tuple[GenomeSpec, np.ndarray, EvalSettings]:
        """Spec, genome and settings to score it in `env_id` (default: its own), stepped by
        `simulator` (default gymnasium, the judge, whatever it was trained in).

        A `rules` genome is re-sized for another environment (rule transfer); the
        episode cap it was evolved with applies only where it was evolved. Raises
        TransferError when it cannot act there.
        """
        env_id = env_id or self.env
        if not env_id:
            raise TransferError("the genome file names no environment; pass --env")
        spec, x = fit_to_env(self.spec, self.x, env_id)
        max_steps = (self.meta.max_steps or 0) if env_id in self.trained_on else 0
        fitness = lifetime_fitness or self.meta.lifetime_fitness
        w_max = self.meta.w_max if self.meta.w_max is not None else W_MAX
        settings = EvalSettings(env_id, spec, max_steps or None, fitness, w_max,
                                self.meta.normalise_obs, simulator=simulator)
        return spec, x, settings
