"""What a run leaves behind: its checkpoints, `best.msgpack` whenever the genome it stands
behind changes, and, when it finishes, that genome's score on held-out lifetimes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from envs import EvalSettings, held_out_seeds, lifetime_fitness
from envs.multi import MultiEnvEvaluator
from genome.codec import encode_genome
from genome.spec import GenomeSpec
from island.checkpoint import DESCRIPTOR_ERRNOS
from island.config import EvaluationConfig
from island.record import GenomeMeta, HeldOut
from island.runlog import RunDirectory

if TYPE_CHECKING:
    from island.generation import Generations


class Outcome:
    """Writes the best genome with what it takes to score it again (island-eval reads it)."""

    def __init__(self, run_dir: RunDirectory, spec: GenomeSpec, settings: EvalSettings,
                 evaluation: EvaluationConfig, node_id: str, env_ids: list[str],
                 generations: Generations, saved_generation: int = -1):
        self.run_dir, self.spec, self.settings = run_dir, spec, settings
        self.evaluation, self.node_id = evaluation, node_id
        self.generations = generations  # the run whose state and best genome are written
        self.saved_generation = saved_generation  # what the newest checkpoint holds (-1: none)
        # Recorded in the genome file, so tools can tell which environments are held out.
        self.env_ids = env_ids
        self._written: tuple[int, float] | None = None  # what best.msgpack holds

    @property
    def path(self) -> Path:
        return self.run_dir.path / "best.msgpack"

    @property
    def unsaved(self) -> bool:
        """Generations have completed since the newest checkpoint."""
        return self.generations.state.generation != self.saved_generation

    def checkpoint(self, wall: float) -> None:
        """Write the checkpoint of the last completed generation, and the best genome."""
        state = self.generations.state
        state.wall = wall
        try:
            state.save(self.run_dir.path)
            self.write_run_best()
        except OSError as exc:
            if exc.errno not in DESCRIPTOR_ERRNOS:
                raise
            # Out of descriptors for a moment: the old files stand; the next one retries.
            self.run_dir.event("checkpoint_deferred", generation=state.generation,
                               reason=exc.strerror)
            return
        self.saved_generation = state.generation

    def write_run_best(self) -> None:
        """`best.msgpack` for the genome the run stands behind now."""
        gens = self.generations
        self.write_best(*gens.best(), gens.state.evaluations,
                        "validation" if gens.validating else "training")

    def final_score(self, evaluator: Any, lifetimes: int,
                    simulator: str | None = None) -> HeldOut:
        """The run's result: its best genome on held-out lifetimes, logged as `held_out`
        with the `simulator` that scored it."""
        gens = self.generations
        summary = self.held_out(evaluator, gens.best()[0], lifetimes)
        summary["simulator"] = simulator or self.settings.simulated_in
        summary["training_best"] = gens.island.best.fitness
        if gens.validating:
            summary["champion_validation"] = gens.champion.score
        if gens.validation.standing_on_kept:
            summary["confirmed_mean"] = gens.champion.kept_mean
        held = self.run_dir.event("held_out", **summary)
        assert isinstance(held, HeldOut)
        return held

    def write_best(self, x: np.ndarray, fitness: float, generation: int, evaluations: int,
                   chosen_by: str) -> None:
        """Write `best.msgpack` when the genome changed (and has a score at all)."""
        if not np.isfinite(fitness) or self._written == (generation, fitness):
            return
        self._written = (generation, fitness)
        ev = self.evaluation
        meta = GenomeMeta(
            env=self.settings.env_id, envs=list(self.env_ids), fitness=fitness,
            chosen_by=chosen_by, generation=generation, evaluations=evaluations,
            node=self.node_id, max_steps=ev.max_steps, lifetime=ev.lifetime,
            lifetime_fitness=self.settings.lifetime_fitness, w_max=self.settings.w_max,
            episodes=ev.episodes, normalise_obs=self.settings.normalise_obs,
            simulator=self.settings.simulated_in,  # what trained it; any simulator scores it
        )
        self.run_dir.write_best(encode_genome(self.spec, x, meta.to_dict()))

    def held_out(self, evaluator: Any, x: np.ndarray, lifetimes: int) -> dict[str, Any]:
        """Score `x` on held-out lifetimes (seeds no training draws); the summary is logged.
        The evaluator's `abort` ends it early (EvaluationAborted), as it does a generation."""
        K = self.settings.lifetime
        seeds = held_out_seeds(lifetimes, K)
        X = np.asarray(x, dtype=float)[None, :]
        how = self.settings.lifetime_fitness
        summary: dict[str, Any] = {"lifetimes": lifetimes, "episodes_per_lifetime": K,
                                   "lifetime_fitness": how}
        if not isinstance(evaluator, MultiEnvEvaluator):
            curves = evaluator.episode_returns(X, seeds)[0]
            returns = lifetime_fitness(curves, how)
        else:
            # Every environment on the same held-out seeds; the headline is the mean of the
            # normalised scores, as training's fitness, and each environment is named.
            raw = [r[0] for r in evaluator.raw_returns(X, seeds)]
            normalised = [scale.normalise(r) for r, scale in zip(raw, evaluator.scales,
                                                                 strict=True)]
            summary["envs"] = {
                env_id: {"mean": float(lifetime_fitness(r, how).mean()),
                         "std": float(lifetime_fitness(r, how).std()),
                         "normalised_mean": float(lifetime_fitness(n, how).mean()),
                         "curve": [round(float(v), 3) for v in r.mean(axis=0)]}
                for env_id, r, n in zip(evaluator.env_ids, raw, normalised, strict=True)}
            curves = np.mean(normalised, axis=0)
            returns = np.mean([lifetime_fitness(n, how) for n in normalised], axis=0)
        summary.update({"held_out_mean": float(np.mean(returns)),
                        "held_out_std": float(np.std(returns)),
                        "curve": [round(float(v), 3) for v in curves.mean(axis=0)]})
        return summary
