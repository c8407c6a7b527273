"""The champion: the genome a run stands behind, chosen on shared validation episodes.

The best training sample is the luckiest of thousands of noisy scores: a
LunarLander genome that scored 268 on its 3 training episodes measured -62 on
100 held-out ones. So every few generations the champion, the CMA-ES mean and
the best sample since the last round meet on the same fresh training seeds, and
the highest mean becomes (or stays) champion. Shared seeds make the comparison
paired, and a lucky champion is soon unseated. Validation seeds are training
seeds: held-out seeds stay unseen until a run is scored.

A round's winner is also the luckiest of its candidates on that round's seeds,
so a run does not stop on it: a champion whose round score reaches the target is
confirmed on fresh training lifetimes (pooled while it stays champion), and the
run stops only when their mean, less CONFIDENCE_Z standard errors, still reaches
it (`confirmed`). Stopping on the round score at a target of 250 overshot, and
still missed 200 held-out on some seeds. Two standard errors let 2 of 10
LunarLander runs stop at a held-out 195.5 and 195.8 (confirmed means 234 and 233
on 50 lifetimes): a run tries several champions, their returns are heavy-tailed
(crashes), and 100 held-out lifetimes have a spread of their own (about 10).

A confirmation is sequential: while it is inconclusive (mean at the target, the
bound below it) it goes on, a batch at a time, up to a limit. With one batch
per round, champions validating at 259 and 264 never confirmed (their batch of
50 had a bound of mean - 45 with std 110) and were unseated by luckier
challengers before their pool grew, so two runs ran to their budget (issue 16).

What a run claims is its held-out score, itself a mean of `predicted_for` (100)
lifetimes with a spread of its own, so the bound is a prediction bound for that
mean: confirmation mean - CONFIDENCE_Z * std * sqrt(1/n + 1/predicted_for). A
bound on the true mean alone (std / sqrt(n)) let a long pool creep up to it: on
tuning seed 112 a champion confirmed at 201.2 after 350 lifetimes (mean 214.7)
scored 190.4 on its 100 held-out ones.

A pool whose lifetimes all scored alike says nothing of the spread: 50 CartPole
lifetimes all at 500 (std 0, so a bound of 500) confirmed a champion that scored
471.7 on its 100 held-out ones. n lifetimes without a shortfall still allow a
shortfall rate of 3/n (the rule of three, 95%), so the spread the bound uses is
at least that of such a rate with shortfalls as deep as the mean (`spread`) in the
error of the pool's mean; it fades as the pool grows (a pool of 150 identical
scores near 500 confirms at 475), and the pool is extended while it could still
confirm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

CONFIDENCE_Z = 3.0  # standard errors between a confirmed mean and what the run claims
RULE_OF_THREE = 3.0  # n lifetimes without a shortfall allow a shortfall rate of 3/n (95%)


@dataclass
class Champion:
    """The current champion and the best training sample seen since the last round."""

    x: np.ndarray | None = None
    score: float = -np.inf  # its mean return in the last round (on that round's seeds)
    generation: int = -1  # generation of the round it last won
    origin: str = ""  # "mean", "sample" or "champion": where the winner came from
    rounds: int = 0
    challenger: np.ndarray | None = field(default=None, repr=False)
    challenger_fitness: float = -np.inf
    confirmations: list[float] = field(default_factory=list)  # its scores on fresh lifetimes
    predicted_for: int = 100  # lifetimes of the held-out score the bound predicts (0: none)
    reached_target: bool = False  # a round has scored at the stop target: the end game began
    best_round: float = -np.inf  # the highest score a round's winner has had in this run
    # The genome with the highest confirmed bound so far (`keep`): on BipedalWalker the
    # latest round's winner is often a luckier, worse genome than one confirmed before it.
    kept: np.ndarray | None = field(default=None, repr=False)
    kept_bound: float = -np.inf
    kept_mean: float = -np.inf
    kept_lifetimes: int = 0
    kept_generation: int = -1

    def observe(self, x: np.ndarray, fitness: float) -> None:
        """Remember the best training sample of the current window."""
        if fitness > self.challenger_fitness:
            self.challenger, self.challenger_fitness = np.array(x, dtype=float), float(fitness)

    def candidates(self, mean: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Labels and rows to score this round: champion, CMA-ES mean, best recent sample."""
        labels, rows = ["mean"], [np.asarray(mean, dtype=float)]
        if self.challenger is not None:
            labels.append("sample")
            rows.append(self.challenger)
        if self.x is not None:
            labels.append("champion")
            rows.append(self.x)
        return labels, np.array(rows)

    def decide(self, labels: list[str], X: np.ndarray, scores: np.ndarray,
               generation: int) -> bool:
        """Crown the best-scoring candidate; True when the champion changed. A tie keeps
        the champion: on CartPole-v1 every good candidate scores 500 on 10 lifetimes, and a
        tie won by the mean (listed first) threw away the champion's confirmation pool each
        round, so a run near 490 never pooled enough lifetimes to confirm."""
        winner = int(np.argmax(scores))
        if "champion" in labels and scores[labels.index("champion")] >= scores[winner]:
            winner = labels.index("champion")
        changed = labels[winner] != "champion"
        if changed:
            self.confirmations = []  # those were another genome's
        self.x = X[winner].copy()
        self.score = float(scores[winner])
        self.best_round = max(self.best_round, self.score)
        self.origin = labels[winner] if changed else self.origin
        self.generation = generation
        self.rounds += 1
        self.challenger, self.challenger_fitness = None, -np.inf
        return changed

    def confirm(self, lifetime_scores: np.ndarray) -> None:
        """Add the champion's scores on fresh lifetimes (pooled with its earlier ones)."""
        self.confirmations += [float(v) for v in np.ravel(lifetime_scores)]

    def keep(self) -> bool:
        """Remember the champion if its confirmed bound is the highest so far; True if so."""
        bound = self.confirmed
        if self.x is None or not bound > self.kept_bound:
            return False
        self.kept, self.kept_bound = self.x.copy(), bound
        self.kept_mean, self.kept_lifetimes = float(np.mean(self.confirmations)), \
            len(self.confirmations)
        self.kept_generation = self.generation
        return True

    def inconclusive(self, target: float) -> bool:
        """True while more lifetimes could still confirm it: its bound is below `target`, and
        the bound of an endless pool (the held-out sample's own spread alone) would not be."""
        scores = np.asarray(self.confirmations)
        if scores.size < 2:
            return True
        future = 1.0 / self.predicted_for if self.predicted_for else 0.0
        ceiling = scores.mean() - CONFIDENCE_Z * scores.std(ddof=1) * np.sqrt(future)
        return self.confirmed < target <= float(ceiling)

    @property
    def confirmed(self) -> float:
        """A lower bound on its mean over `predicted_for` further lifetimes: the mean of its
        confirmation scores less CONFIDENCE_Z prediction standard errors (-inf: none)."""
        scores = np.asarray(self.confirmations)
        if scores.size < 2:
            return -np.inf
        future = 1.0 / self.predicted_for if self.predicted_for else 0.0
        # The floor covers what n lifetimes cannot have seen; the held-out sample's own
        # spread is estimated from the pool (with the floor, a pool without spread could
        # never confirm against a small held-out sample).
        variance = spread(scores) ** 2 / scores.size + scores.var(ddof=1) * future
        return float(scores.mean() - CONFIDENCE_Z * np.sqrt(variance))


def spread(scores: np.ndarray) -> float:
    """The pool's standard deviation, but never below that of a shortfall rate of 3/n with
    shortfalls as deep as the mean: what n lifetimes that all scored alike cannot rule out."""
    rate = min(1.0, RULE_OF_THREE / scores.size)
    return max(float(scores.std(ddof=1)), float(np.sqrt(rate * (1.0 - rate)) * abs(scores.mean())))


@dataclass
class RoundResult:
    """One champion round: who met, their scores, and what it cost in episodes."""

    labels: list[str]
    scores: np.ndarray
    changed: bool
    episodes: int


def champion_round(
    champion: Champion, mean: np.ndarray, evaluate: Callable[[np.ndarray, np.ndarray], np.ndarray],
    seeds: np.ndarray, generation: int,
) -> RoundResult:
    """Score champion, CMA-ES mean and best recent sample on the same `seeds`; crown the best."""
    labels, candidates = champion.candidates(mean)
    scores = evaluate(candidates, seeds)
    changed = champion.decide(labels, candidates, scores, generation)
    return RoundResult(labels, scores, changed, len(candidates) * seeds.size)
