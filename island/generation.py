"""One island's generations (DESIGN.md, "Data flow of one generation"):

    migrants in -> island.inject -> ask -> evaluator.evaluate -> island.tell
    -> every validate_every: champion round -> every interval: elites out -> record

The champion's rounds, end game and confirmation are island/validation.py's.
Everything here is in memory; the node around it owns files, signals and the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from envs import HELD_OUT_SEED_BASE, EvalSettings, Evaluation
from envs.episodes import across_lifetimes
from envs.random_policy import random_policy
from genome.layout import named_rules
from genome.spec import GenomeSpec
from island.champion import Champion
from island.config import NodeConfig
from island.migration import Migration
from island.record import GenerationRecord
from island.stagnation import rescue_due
from island.state import NodeState
from island.stopping import StopCriteria
from island.validation import Validation


class Generations:
    """Runs generations of the island in `state`, scoring on `evaluator` (an EvaluatorLike)."""

    def __init__(self, config: NodeConfig, spec: GenomeSpec, settings: EvalSettings,
                 state: NodeState, evaluator: Any, gossip: Any,
                 event: Callable[..., None], stop: StopCriteria | None = None):
        self.config, self.spec, self.settings, self.state = config, spec, settings, state
        self.stop = stop or StopCriteria()
        self.evaluator, self.gossip, self.event = evaluator, gossip, event
        self.island, self.rng = state.island, state.seeds
        self.champion: Champion = state.champion or Champion()
        self.champion.predicted_for = config.stop.final_episodes  # what the run will claim
        self.migration = Migration(spec, settings.w_max, event, state.migration)
        state.champion, state.migration = self.champion, self.migration.counters
        self.env_ids: list[str] = evaluator.env_ids
        self.validation = Validation(config, self.stop, self.champion, self._score,
                                     self._lifetime_scores, self._seeds, event)

    @property
    def validating(self) -> bool:
        return self.validation.enabled

    @property
    def lost_worker(self) -> str | None:
        """Why a worker died during a champion round or confirmation (None: none did)."""
        return self.validation.lost_worker

    def stop_score(self) -> float:
        """The score the stop target is tested on: the confirmed bound when confirming."""
        return self.validation.stop_score(self.island)

    def best(self) -> tuple[np.ndarray, float, int]:
        """The genome this run stands behind: the champion, or the best sample without one."""
        return self.validation.best(self.island)

    def _seeds(self, lifetimes: int) -> np.ndarray:
        """Fresh training seeds for `lifetimes` lifetimes, one per episode."""
        return self.rng.integers(0, HELD_OUT_SEED_BASE, size=lifetimes * self.settings.lifetime)

    def _score(self, X: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        return self._evaluate(X, seeds).fitness

    def _lifetime_scores(self, X: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        return self._evaluate(X, seeds).lifetimes

    def _evaluate(self, X: np.ndarray, seeds: np.ndarray, floor: float | None = None,
                  cap: int | None = None) -> Evaluation:
        """Score X on `seeds`, with every episode it plays (in every environment) counted;
        `floor` and `cap` only for the training generations (the evaluator's)."""
        result = self.evaluator.evaluate(X, seeds, floor=floor, cap=cap)
        self.state.evaluations += result.episodes
        return result

    def step(self, wall: Callable[[], float]) -> GenerationRecord:
        """One generation: migrants in, ask, score, tell, champion round, elites out."""
        if self.gossip is not None:
            self.migration.receive(self.gossip.drain(), self.island)
        resets = self.island.numerical_resets
        # The end game's lifetimes per evaluation remove the ranking noise a mean rate
        # below 1 damps; from then on the mean moves the whole way.
        self.island.set_mean_rate(1.0 if self.champion.reached_target
                                  else self.config.evolution.mean_rate)
        population = self.island.ask()
        ev = self.config.evaluation
        floored = self._before(ev.train_reward_floor_until)
        capped = self._capped(wall)
        scored = self._evaluate(population.X, self._seeds(self.validation.lifetimes),
                                ev.train_reward_floor if floored else None,
                                ev.train_max_steps if capped else None)
        # the mean is the evaluator's own fitness: several environments combine their means
        # (`envs_fitness`), which a per-lifetime combination would not reproduce under `min`
        fitness = scored.fitness if ev.train_fitness == "mean" else \
            across_lifetimes(scored.lifetimes, ev.train_fitness)
        env_scores = self._env_scores(scored, int(np.argmax(fitness)))
        restarts = self.island.restarts
        improved = self.island.tell(population.X, fitness)
        if self.island.restarts != restarts:
            self.event("restart", generation=self.island.generation,
                       evaluations=self.state.evaluations, popsize=self.island.popsize,
                       reason=self.island.last_restart)
        if self.island.numerical_resets != resets:
            self.event("strategy_reset", generation=self.island.generation,
                       reason=self.island.last_failure)
        if self._rescue_due():
            start = self.config.evolution.rescue_from == "start"
            self.island.restart(self.island.x0 if start else None)
            self.event("rescue", generation=self.island.generation,
                       evaluations=self.state.evaluations, popsize=self.island.popsize)
        self.migration.measured(population, fitness, self.island, improved)
        generation = self.island.generation
        top = int(np.argmax(fitness))
        self.champion.observe(population.X[top], float(fitness[top]))
        if self.validation.due(generation):
            in_end_game = self.champion.reached_target
            self.validation.round(self.island.mean, generation)
            if self.champion.reached_target and not in_end_game \
                    and self.config.evolution.end_game_sigma != 1:
                self.island.shrink_step(self.config.evolution.end_game_sigma)
            if floored and not self._before(ev.train_reward_floor_until):
                self.event("floor_lifted", generation=generation,
                           score=self.champion.best_round)
            if self._resize_due():
                self.island.resize(self.config.evolution.popsize)
                self.event("resized", generation=generation, evaluations=self.state.evaluations,
                           popsize=self.island.popsize, score=self.champion.best_round)
        if capped and not self._capped(wall):
            by_round = not self._before(ev.train_max_steps_until)
            self.event("cap_lifted", generation=generation, score=self.champion.best_round,
                       spent=round(self._spent(wall), 3), by="round" if by_round else "budget")
        if self.gossip is not None and generation % self.config.migration.interval == 0:
            self.gossip.emit(self.migration.outgoing(
                self.island, self.config.migration.migrants, self.config.run.node_id,
                self.settings.env_id, self.validation.elite()))
        return GenerationRecord.measure(
            self.island, fitness, len(population), self.state.evaluations, round(wall(), 3),
            self.evaluator,
            self.champion.score if self.validation.has_champion else None,
            named_rules(self.spec, self.best()[0]),  # the genome the run stands behind
            self.gossip, self.migration.counters, env_scores)

    def _before(self, until: float | None) -> bool:
        """Whether no champion round has scored `until` yet (always, when it is unset): how
        long a training-only aid (`train_reward_floor`, `train_max_steps`) stays on."""
        return until is None or self.champion.best_round < until

    def _capped(self, wall: Callable[[], float]) -> bool:
        """Whether training episodes are still capped (`train_max_steps`): until a round
        scores `train_max_steps_until`, and at the latest until the run has spent
        `train_max_steps_share` of its budget; both only grow, so a lifted cap stays lifted."""
        ev = self.config.evaluation
        if not ev.train_max_steps or not self._before(ev.train_max_steps_until):
            return False
        return ev.train_max_steps_share is None or self._spent(wall) < ev.train_max_steps_share

    def _spent(self, wall: Callable[[], float]) -> float:
        """The share of the run's budget spent, towards its nearest cap (0 to 1)."""
        return self.stop.progress(self.state.evaluations, self.island.generation, wall(),
                                  self._cpu())

    def _cpu(self) -> float:
        """CPU s of this process and its workers, as log.jsonl's `cpu` counts it."""
        return time.process_time() + self.evaluator.worker_cpu

    def _rescue_due(self) -> bool:
        """Whether `evolution.rescue` restarts the island now (island/stagnation.py)."""
        evo = self.config.evolution
        due = self.island.restarts_enabled and rescue_due(
            evo.rescue, self.stop, self.state.evaluations, self.island.restarts,
            self.champion.reached_target,  # island/sizing.py has filled every unset option
            self._cpu())
        if not due or evo.rescue_level >= 1:
            return due
        # The best round so far, not the last: a champion's 10-lifetime score is noisy (a
        # LunarLander run whose rounds had reached 113 scored -13 in one and was rescued).
        return self.champion.best_round < self._rescue_bar(evo.rescue_level)

    def _resize_due(self) -> bool:
        """Whether the early population gives way to `popsize` now: the island still runs
        its first strategy at `early_popsize`, and a round has scored `early_level` of the
        way to the target (unset: the rescue's bar, off the plateau). A larger population
        never stuck on LunarLander's crash plateau but costs more a generation
        (benchmarks/lunar-search-2026-12-07b/)."""
        evo = self.config.evolution
        early = evo.early_popsize or evo.popsize
        if early == evo.popsize or self.island.restarts or self.island.popsize != early:
            return False
        level = evo.early_level if evo.early_level is not None else evo.rescue_level
        level = 1.0 if level is None else level
        return self.stop.target is not None and self.champion.best_round >= self._rescue_bar(level)

    def _rescue_bar(self, level: float) -> float:
        """`level` of the way from a random policy's return to the stop target (on several
        environments, normalised scores: random is 0)."""
        target = float(self.stop.target)  # a rescue is due only with a target
        base = 0.0 if len(self.env_ids) > 1 else random_policy(self.settings.env_id).mean_return
        return base + level * (target - base)

    @staticmethod
    def _env_scores(scored: Evaluation, row: int) -> dict[str, float] | None:
        """The normalised score in each environment of one genome just scored (several
        environments only: one environment's score is the fitness itself)."""
        if len(scored.env_scores) < 2:
            return None
        return {env_id: round(float(s[row]), 4) for env_id, s in scored.env_scores.items()}
