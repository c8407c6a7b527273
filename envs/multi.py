"""Islands that train on several environments: one rule, a network sized for each, one fitness.

A `rules` genome is only rule parameters, per layer and independent of layer
widths, so the same vector drives a network sized for every environment. Raw
returns are not comparable across environments (CartPole pays up to 500,
Acrobot -500 to 0), so each is normalised before they are averaged:

    score = (R - R_random) / (R_solved - R_random)

`R_solved` is the environment's own `reward_threshold` (gymnasium spec);
`R_random` the mean return of uniformly random actions (envs/random_policy.py).
0 is a random policy and 1 solved, in every environment. An environment without a threshold uses
`R_random + max(1, |R_random|)` as its solved level (documented, arbitrary).

The fitness is the mean of the normalised scores over environments (`mean`), or
their minimum (`min`, `evaluation.envs_fitness`). Under the mean one easy task can
carry a rule: rule C's fitness came from MountainCarContinuous-v0 alone while it
lost CartPole-v1 and Acrobot-v1 (docs/science.md, question 2). Under the minimum
only a rule that improves its worst environment is selected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from envs.episodes import lifetime_fitness
from envs.evaluator import EvalSettings, Evaluation, Evaluator
from envs.random_policy import random_policy
from genome.spec import GenomeSpec

ACROSS_ENVS = {
    "mean": "mean over environments of the normalised scores",
    "min": "the worst environment's normalised score: no task can carry another",
}


@dataclass(frozen=True)
class ReturnScale:
    """Where a random policy and a solved one stand in one environment."""

    env_id: str
    random: float
    solved: float

    def normalise(self, returns: np.ndarray) -> np.ndarray:
        return (np.asarray(returns) - self.random) / (self.solved - self.random)


def return_scale(env_id: str) -> ReturnScale:
    """A random policy's mean return and the solved level (see module doc)."""
    policy = random_policy(env_id)
    random, threshold = policy.mean_return, policy.reward_threshold
    solved = threshold if threshold is not None else random + max(1.0, abs(random))
    if solved <= random:
        solved = random + max(1.0, abs(random))  # a threshold a random policy already meets
    return ReturnScale(env_id, random, solved)


class MultiEnvEvaluator:
    """`evaluate(X, seeds) -> Evaluation` over several environments: the mean (or the
    minimum, `across="min"`) of the normalised scores.

    One `Evaluator` per environment, each with a network sized for it; every
    environment sees the same seeds. `episode_returns` gives the normalised
    returns of each environment, (envs, P, lifetimes, K).
    """

    def __init__(self, settings: Sequence[EvalSettings], workers: int | None = None,
                 across: str = "mean", abort: Callable[[], bool] | None = None):
        if not settings:
            raise ValueError("a multi-environment evaluator needs at least one environment")
        if across not in ACROSS_ENVS:
            raise ValueError(f"unknown fitness across environments {across!r}; "
                             f"known: {', '.join(ACROSS_ENVS)}")
        self.across = across
        dims = {s.spec.dim for s in settings}
        if len(dims) != 1:
            raise ValueError("every environment's genome must have the same length; only "
                             "'rules' genomes of one depth can train on several environments")
        self.scales = [return_scale(s.env_id) for s in settings]
        self.evaluators = [Evaluator(s, workers, abort=abort) for s in settings]
        self.settings = settings[0]

    @property
    def env_ids(self) -> list[str]:
        return [e.settings.env_id for e in self.evaluators]

    @property
    def steps(self) -> int:
        return sum(e.steps for e in self.evaluators)

    @property
    def worker_cpu(self) -> float:
        return sum(e.worker_cpu for e in self.evaluators)

    def raw_returns(
        self, X: np.ndarray, seeds: Sequence[int] | np.ndarray,
        floor: float | None = None, cap: int | None = None,
    ) -> list[np.ndarray]:
        """Return of every episode in each environment's own units: per env (P, lifetimes, K)."""
        return [e.episode_returns(X, seeds, floor, cap) for e in self.evaluators]

    def episode_returns(
        self, X: np.ndarray, seeds: Sequence[int] | np.ndarray,
        floor: float | None = None, cap: int | None = None,
    ) -> np.ndarray:
        """Normalised return of every episode, per environment: (envs, P, lifetimes, K)."""
        return np.stack([scale.normalise(returns) for returns, scale in
                         zip(self.raw_returns(X, seeds, floor, cap), self.scales,
                             strict=True)])

    def evaluate(
        self, X: np.ndarray, seeds: Sequence[int] | np.ndarray,
        floor: float | None = None, cap: int | None = None,
    ) -> Evaluation:
        """Fitness: the mean over lifetimes of each lifetime's normalised score, then the
        mean (or the minimum) over environments (`floor` and `cap` as `Evaluator`'s). A lifetime's
        score combines its environments the same way (for `min`, a lifetime's minimum, so
        their mean is never above the minimum of means the fitness ranks by). Each
        environment's part is kept, so a log can say where a genome's fitness came from."""
        returns = self.episode_returns(X, seeds, floor, cap)
        per_env = lifetime_fitness(returns, self.settings.lifetime_fitness)  # (envs, P, L)
        means = per_env.mean(axis=2)
        combine = np.min if self.across == "min" else np.mean
        return Evaluation(combine(means, axis=0), combine(per_env, axis=0), returns.size,
                          dict(zip(self.env_ids, means, strict=True)))

    def close(self) -> None:
        for e in self.evaluators:
            e.close()

    def __enter__(self) -> MultiEnvEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def specs_for_envs(kind: str, hidden: Sequence[int], family: str,
                   env_ids: Sequence[str]) -> list[GenomeSpec]:
    """One spec per environment: the same hidden layers, inputs and outputs sized for each."""
    from envs.spaces import env_info

    return [GenomeSpec(kind, (env_info(e).obs_dim, *hidden, env_info(e).act_dim), family)
            for e in env_ids]
