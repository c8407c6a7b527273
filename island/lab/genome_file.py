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
from typing import Any

import numpy as np

from envs import EvalSettings
from genome.codec import decode_genome
from genome.layout import W_MAX
from genome.spec import GenomeSpec
from island.lab.rule_study import TransferError, fit_to_env


@dataclass(frozen=True)
class GenomeFile:
    """A decoded genome file; `scored_in` gives what scoring it in an environment needs."""

    spec: GenomeSpec
    x: np.ndarray
    meta: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> GenomeFile:
        """Raises OSError when unreadable, GenomeDecodeError when it is not a genome."""
        return cls(*decode_genome(Path(path).read_bytes()))

    @property
    def env(self) -> str | None:
        """The environment its network was sized for (the first it was evolved on)."""
        env = self.meta.get("env")
        return str(env) if env else None

    @property
    def trained_on(self) -> list[str]:
        """Every environment it was evolved on."""
        envs = self.meta.get("envs") or ([self.env] if self.env else [])
        return [str(e) for e in envs]

    @property
    def lifetime(self) -> int:
        """Episodes per lifetime it was evolved with."""
        return int(self.meta.get("lifetime") or 1)

    @property
    def trained_in(self) -> str:
        """The simulator that stepped its training episodes (files of older runs: gymnasium)."""
        return str(self.meta.get("simulator") or "gymnasium")

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
        max_steps = int(self.meta.get("max_steps") or 0) if env_id in self.trained_on else 0
        fitness = lifetime_fitness or str(self.meta.get("lifetime_fitness", "mean"))
        settings = EvalSettings(env_id, spec, max_steps or None, fitness,
                                float(self.meta.get("w_max", W_MAX)),
                                bool(self.meta.get("normalise_obs", False)),  # older: never
                                simulator=simulator)
        return spec, x, settings
