"""The champion's validation: rounds on shared fresh seeds, the end game, confirmation.

Every `validate_every` generations the champion, the CMA-ES mean and the best
sample since the last round meet on the same fresh training lifetimes
(island/champion.py says why). A round at the stop target starts the end game
(more lifetimes per evaluation) and a confirmation: the champion is scored on
fresh lifetimes, a batch at a time while inconclusive, and the run may stop only
on the confirmed bound. A lifetime's score in a confirmation is the one training
ranks by: on an island of several environments, its normalised scores
aggregated across them (the `lifetimes` of the evaluator's `Evaluation`).

A signal or a lost worker during a round ends the round, never the generation
before it: the generation is already told, and is logged and checkpointed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from envs import EvaluationAborted, WorkerDied
from island.champion import Champion, champion_round
from island.cmaes_island import Elite, Island
from island.config import NodeConfig
from island.record import CONFIRMED, FAILED, INCONCLUSIVE
from island.stopping import StopCriteria

Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


class Validation:
    """Champion rounds and confirmations of one island; `score` and `lifetime_scores`
    evaluate (and count) what they are given, `seeds(n)` draws n fresh training lifetimes."""

    def __init__(self, config: NodeConfig, stop: StopCriteria, champion: Champion,
                 score: Scorer, lifetime_scores: Scorer, seeds: Callable[[int], np.ndarray],
                 event: Callable[..., None]):
        self.evaluation, self.stop, self.champion = config.evaluation, stop, champion
        self._score, self._lifetime_scores, self._seeds = score, lifetime_scores, seeds
        self.event = event
        self.lost_worker: str | None = None  # a worker died in a round or a confirmation

    @property
    def target(self) -> float | None:
        """The stop target a champion is confirmed against (None: no target)."""
        return self.stop.target

    @property
    def enabled(self) -> bool:
        return self.evaluation.validation_episodes > 0

    @property
    def confirming(self) -> bool:
        """A champion at the target is confirmed on fresh lifetimes before the run stops."""
        return self.enabled and self.target is not None and self.evaluation.confirm_episodes > 0

    @property
    def lifetimes(self) -> int:
        """Lifetimes per evaluation: more once a champion has scored at the target."""
        ev = self.evaluation
        if self.champion.reached_target and ev.episodes_at_target is not None:
            return ev.episodes_at_target
        return ev.episodes

    @property
    def has_champion(self) -> bool:
        return self.enabled and self.champion.x is not None

    @property
    def standing_on_kept(self) -> bool:
        """`stand_on_confirmed`, and a genome confirmed before beats the champion's bound."""
        c = self.champion
        return (self.evaluation.stand_on_confirmed and c.kept is not None
                and c.kept_bound > c.confirmed)

    def best(self, island: Island) -> tuple[np.ndarray, float, int]:
        """The genome a run stands behind: the champion (or, with `stand_on_confirmed`, the
        genome with the highest confirmed bound, scored by its confirmation mean), or the
        island's best sample."""
        if self.standing_on_kept:
            c = self.champion
            return c.kept, c.kept_mean, c.kept_generation
        if self.has_champion:
            return self.champion.x, self.champion.score, self.champion.generation
        return island.best.x, island.best.fitness, island.best.generation

    def stop_score(self, island: Island) -> float:
        """The score the stop target is tested on: the confirmed bound when confirming."""
        return self.champion.confirmed if self.confirming else self.best(island)[1]

    def elite(self) -> Elite | None:
        """The validated champion, offered to peers for its rule (None before the first round)."""
        if not self.has_champion:
            return None
        return Elite(self.champion.x, self.champion.score, self.champion.generation)

    def due(self, generation: int) -> bool:
        return self.enabled and generation % self.evaluation.validate_every == 0

    def round(self, mean: np.ndarray, generation: int) -> None:
        """A champion round after `generation`, then the end game and confirmation if due."""
        try:
            result = champion_round(self.champion, mean, self._score,
                                    self._seeds(self.evaluation.validation_episodes), generation)
        except EvaluationAborted:
            return
        except WorkerDied as exc:  # the node stops after logging the generation
            self.lost_worker = str(exc)
            return
        self.event("champion_round", generation=generation, changed=result.changed,
                   origin=self.champion.origin, score=self.champion.score,
                   lifetimes=self.evaluation.validation_episodes,
                   scores=dict(zip(result.labels, map(float, result.scores), strict=True)))
        target = self.target
        at_target = target is not None and self.champion.score >= target
        if at_target and not self.champion.reached_target:
            self.champion.reached_target = True
            self.event("end_game", generation=generation, score=self.champion.score,
                       episodes=self.lifetimes)
        if self.confirming and at_target and self.champion.confirmed < target:
            self._confirm(generation)
        if result.changed:
            self.event("champion", generation=generation, origin=self.champion.origin,
                       score=self.champion.score,
                       scores=dict(zip(result.labels, map(float, result.scores), strict=True)))

    def _confirm(self, generation: int) -> None:
        """Score the champion on fresh lifetimes, a batch at a time while inconclusive
        (island/champion.py says why)."""
        ev = self.evaluation
        while True:
            try:
                scores = self._lifetime_scores(self.champion.x[None],
                                               self._seeds(ev.confirm_episodes))
            except EvaluationAborted:
                return
            except WorkerDied as exc:
                self.lost_worker = str(exc)
                return
            self.champion.confirm(scores[0])
            if self.champion.keep() and ev.stand_on_confirmed:
                self.event("kept", generation=generation, mean=self.champion.kept_mean,
                           bound=self.champion.kept_bound,
                           lifetimes=self.champion.kept_lifetimes)
            pool = self.champion.confirmations
            room = ev.confirm_limit - len(pool)
            going_on = self.champion.inconclusive(self.target) and room >= ev.confirm_episodes
            passed = self.champion.confirmed >= self.target
            self.event(CONFIRMED if passed else INCONCLUSIVE if going_on else FAILED,
                       generation=generation, round_score=self.champion.score,
                       mean=float(np.mean(pool)), bound=self.champion.confirmed,
                       lifetimes=len(pool), target=self.target)
            if not going_on:
                return
