"""One island's generations (DESIGN.md, "Data flow of one generation"):

    migrants in -> island.inject -> ask -> evaluator.evaluate -> island.tell
    -> every validate_every: champion round -> every interval: elites out -> record

Everything here is in memory; the node around it owns files, signals and the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from envs import HELD_OUT_SEED_BASE, EvalSettings, EvaluationAborted, WorkerDied
from envs.episodes import lifetime_fitness
from genome.layout import named_rules
from genome.spec import GenomeSpec
from island.champion import Champion, champion_round
from island.cmaes_island import Elite
from island.config import NodeConfig
from island.migration import Migration
from island.record import GenerationRecord
from island.stagnation import rescue_due
from island.state import NodeState
from island.stopping import StopCriteria


class Generations:
    """Runs generations of the island in `state`, scoring on `evaluator` (an EvaluatorLike)."""

    def __init__(self, config: NodeConfig, spec: GenomeSpec, settings: EvalSettings,
                 state: NodeState, evaluator: Any, gossip: Any,
                 event: Callable[..., None], abort: Callable[[], bool],
                 stop: StopCriteria | None = None):
        self.config, self.spec, self.settings, self.state = config, spec, settings, state
        self.stop = stop or StopCriteria()
        self.evaluator, self.gossip, self.event, self.abort = evaluator, gossip, event, abort
        self.island, self.rng = state.island, state.seeds
        self.champion: Champion = state.champion or Champion()
        self.champion.predicted_for = config.stop.final_episodes  # what the run will claim
        self.migration = Migration(spec, settings.w_max, event, state.migration)
        state.champion, state.migration = self.champion, self.migration.counters
        self.lost_worker: str | None = None  # a worker died in a champion round
        # An island on several environments plays every seed in each of them.
        self.env_ids: list[str] = list(getattr(evaluator, "env_ids", [settings.env_id]))

    @property
    def target(self) -> float | None:
        """The stop target a champion is confirmed against (None: no target)."""
        return self.stop.target

    @property
    def validating(self) -> bool:
        return self.config.evaluation.validation_episodes > 0

    @property
    def confirming(self) -> bool:
        """A champion at the target is confirmed on fresh lifetimes before the run stops."""
        return (self.validating and self.target is not None
                and self.config.evaluation.confirm_episodes > 0)

    @property
    def lifetimes(self) -> int:
        """Lifetimes per evaluation: more once a champion has scored at the target."""
        ev = self.config.evaluation
        if self.champion.reached_target and ev.episodes_at_target is not None:
            return ev.episodes_at_target
        return ev.episodes

    def stop_score(self) -> float:
        """The score the stop target is tested on: the confirmed bound when confirming."""
        return self.champion.confirmed if self.confirming else self.best()[1]

    def best(self) -> tuple[np.ndarray, float, int]:
        """The genome this run stands behind: the champion, or the best sample without one."""
        if self.validating and self.champion.x is not None:
            return self.champion.x, self.champion.score, self.champion.generation
        return self.island.best_x, self.island.best_fitness, self.island.best_generation

    def _seeds(self, lifetimes: int) -> np.ndarray:
        """Fresh training seeds, (lifetimes, episodes per lifetime)."""
        return self.rng.integers(0, HELD_OUT_SEED_BASE,
                                 size=(lifetimes, self.config.evaluation.lifetime))

    def _score(self, X: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        fitness = self.evaluator.evaluate(X, seeds, abort=self.abort)
        self.state.evaluations += len(X) * seeds.size * len(self.env_ids)
        return fitness

    def step(self, wall: Callable[[], float]) -> GenerationRecord:
        """One generation: migrants in, ask, score, tell, champion round, elites out."""
        if self.gossip is not None:
            self.migration.receive(self.gossip.drain(), self.island)
        resets = self.island.numerical_resets
        population = self.island.ask()
        fitness = self._score(population.X, self._seeds(self.lifetimes))
        env_scores = self._env_scores(int(np.argmax(fitness)))
        improved = self.island.tell(population.X, fitness)
        if self.island.numerical_resets != resets:
            self.event("strategy_reset", generation=self.island.generation,
                       reason=self.island.last_failure)
        if self._rescue_due():
            self.island.restart()
            self.event("rescue", generation=self.island.generation,
                       evaluations=self.state.evaluations, popsize=self.island.popsize)
        self.migration.measured(population, fitness, self.island, improved)
        generation = self.island.generation
        top = int(np.argmax(fitness))
        self.champion.observe(population.X[top], float(fitness[top]))
        if self.validating and generation % self.config.evaluation.validate_every == 0:
            self._champion_round()
        if self.gossip is not None and generation % self.config.migration.interval == 0:
            self.gossip.emit(self.migration.outgoing(
                self.island, self.config.migration.migrants, self.config.run.node_id,
                self.settings.env_id, self._champion_elite()))
        return GenerationRecord.measure(
            self.island, fitness, len(population), self.state.evaluations, round(wall(), 3),
            self.evaluator,
            self.champion.score if self.validating and self.champion.x is not None else None,
            named_rules(self.spec, self.best()[0]),  # the genome the run stands behind
            self.gossip, self.migration.counters, env_scores)

    def _rescue_due(self) -> bool:
        """Whether `evolution.rescue` restarts the island now (island/stagnation.py)."""
        return self.island.restarts_enabled and rescue_due(
            self.config.evolution.rescue, self.stop, self.state.evaluations,
            self.island.restarts, self.champion.reached_target)

    def _env_scores(self, row: int) -> dict[str, float] | None:
        """The normalised score in each environment of one genome just scored (several
        environments only: one environment's score is the fitness itself)."""
        scores = getattr(self.evaluator, "last_scores", None)
        if scores is None or len(self.env_ids) < 2:
            return None
        return {env_id: round(float(s[row]), 4)
                for env_id, s in zip(self.env_ids, scores, strict=True)}

    def _champion_elite(self) -> Elite | None:
        """The validated champion, offered to peers for its rule (None before the first round)."""
        if not self.validating or self.champion.x is None:
            return None
        return Elite(self.champion.x, self.champion.score, self.champion.generation)

    def _champion_round(self) -> None:
        try:
            result = champion_round(self.champion, self.island.mean, self._score,
                                    self._seeds(self.config.evaluation.validation_episodes),
                                    self.island.generation)
        except EvaluationAborted:
            # The generation itself is complete (told): it is logged and checkpointed as
            # such, only this round is lost. (Raising here lost its log line.)
            return
        except WorkerDied as exc:  # likewise; the node stops after logging the generation
            self.lost_worker = str(exc)
            return
        at_target = self.target is not None and self.champion.score >= self.target
        if at_target and not self.champion.reached_target:
            self.champion.reached_target = True
            self.event("end_game", generation=self.island.generation,
                       score=self.champion.score, episodes=self.lifetimes)
        if self.confirming and at_target and self.champion.confirmed < self.target:
            self._confirm()
        if result.changed:
            self.event("champion", generation=self.island.generation,
                       origin=self.champion.origin, score=self.champion.score,
                       **{f"score_{k}": float(v)
                          for k, v in zip(result.labels, result.scores, strict=True)})

    def _confirm(self) -> None:
        """Score the champion on fresh lifetimes, a batch at a time while inconclusive
        (island/champion.py says why)."""
        ev = self.config.evaluation
        while True:
            seeds = self._seeds(ev.confirm_episodes)
            try:
                returns = self.evaluator.episode_returns(self.champion.x[None], seeds,
                                                         abort=self.abort)
            except EvaluationAborted:
                return
            except WorkerDied as exc:
                self.lost_worker = str(exc)
                return
            self.state.evaluations += seeds.size
            self.champion.confirm(lifetime_fitness(returns[0], self.settings.lifetime_fitness))
            scores = self.champion.confirmations
            self.event("champion_confirmed", generation=self.island.generation,
                       round_score=self.champion.score, mean=float(np.mean(scores)),
                       bound=self.champion.confirmed, lifetimes=len(scores), target=self.target)
            room = ev.confirm_limit - len(scores)
            if not self.champion.inconclusive(self.target) or room < ev.confirm_episodes:
                return
