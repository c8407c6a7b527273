"""What a run leaves behind: `best.msgpack` whenever the genome it stands behind changes,
and, when it finishes, that genome's score on held-out lifetimes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from envs import EvalSettings, held_out_seeds, lifetime_fitness
from genome.codec import encode_genome
from genome.spec import GenomeSpec
from island.config import EvaluationConfig
from island.runlog import RunDirectory


class Outcome:
    """Writes the best genome with what it takes to score it again (island-eval reads it)."""

    def __init__(self, run_dir: RunDirectory, spec: GenomeSpec, settings: EvalSettings,
                 evaluation: EvaluationConfig, node_id: str):
        self.run_dir, self.spec, self.settings = run_dir, spec, settings
        self.evaluation, self.node_id = evaluation, node_id
        self._written: tuple[int, float] | None = None  # what best.msgpack holds

    @property
    def path(self) -> Path:
        return self.run_dir.path / "best.msgpack"

    def write_best(self, x: np.ndarray, fitness: float, generation: int, evaluations: int,
                   chosen_by: str) -> None:
        """Write `best.msgpack` when the genome changed (and has a score at all)."""
        if not np.isfinite(fitness) or self._written == (generation, fitness):
            return
        self._written = (generation, fitness)
        ev = self.evaluation
        meta = {
            "env": self.settings.env_id, "fitness": fitness, "chosen_by": chosen_by,
            "generation": generation, "evaluations": evaluations, "node": self.node_id,
            "max_steps": ev.max_steps, "lifetime": ev.lifetime,
            "lifetime_fitness": self.settings.lifetime_fitness, "w_max": self.settings.w_max,
            "episodes": ev.episodes,
        }
        self.run_dir.write_best(encode_genome(self.spec, x, meta))

    def held_out(self, evaluator: Any, x: np.ndarray, lifetimes: int,
                 abort: Callable[[], bool] | None = None) -> dict[str, Any]:
        """Score `x` on held-out lifetimes (seeds no training draws); the summary is logged.
        `abort` ends it early (EvaluationAborted), as it does a generation."""
        K = self.evaluation.lifetime
        seeds = held_out_seeds(lifetimes, K)
        curves = evaluator.episode_returns(np.asarray(x, dtype=float)[None, :], seeds, abort)[0]
        returns = lifetime_fitness(curves, self.settings.lifetime_fitness)
        summary = {"held_out_mean": float(np.mean(returns)),
                   "held_out_std": float(np.std(returns)), "lifetimes": lifetimes,
                   "episodes_per_lifetime": K, "lifetime_fitness": self.settings.lifetime_fitness,
                   "curve": [round(float(v), 3) for v in curves.mean(axis=0)]}
        return summary
