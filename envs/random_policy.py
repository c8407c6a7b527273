"""What uniformly random actions do in an environment: the yardstick for scores and inputs.

Two parts of the project measure an environment by a random policy, on the same
RANDOM_EPISODES episodes from fixed seeds below the held-out range:

- multi-environment fitness normalises returns to random = 0, solved = 1
  (envs/multi.py) and needs the random policy's mean return;
- observation scaling (`evaluation.normalise_obs`) standardises each input by the
  mean and spread of the observations those episodes visit. An environment's
  inputs differ in scale by a factor of ten or more (LunarLander-v3: leg contacts
  std 0.1, velocities 0.5; BipedalWalker-v3: lidar 0.05, joint speeds 0.9), while
  CMA-ES starts isotropic and a rule's pre-synaptic terms weigh every input alike.
  Scaled, a unit of weight means about the same for every input.

Measured once per process and cached; the episodes are fixed, so every worker and
tool, in any later session, computes the same numbers without storing them
(a genome file records only that its run scaled its inputs).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from envs.spaces import make_env

RANDOM_EPISODES = 20
RANDOM_SEED = 12345  # below the held-out range: these episodes are never reported
MIN_STD = 0.05  # an input that barely moves is not blown up past 20x


@dataclass(frozen=True)
class RandomPolicy:
    """A random policy's mean return and observation statistics in one environment."""

    env_id: str
    mean_return: float
    obs_mean: tuple[float, ...]
    obs_std: tuple[float, ...]  # floored at MIN_STD
    reward_threshold: float | None

    def scale(self, obs: np.ndarray) -> np.ndarray:
        """Observations standardised by this policy's statistics (last axis: features)."""
        return (np.asarray(obs, dtype=float) - np.asarray(self.obs_mean)) / np.asarray(
            self.obs_std)


@lru_cache(maxsize=64)
def random_policy(env_id: str) -> RandomPolicy:
    """Play RANDOM_EPISODES episodes of uniformly random actions from fixed seeds."""
    env = make_env(env_id)
    try:
        env.action_space.seed(RANDOM_SEED)
        totals, seen = [], []
        for k in range(RANDOM_EPISODES):
            obs, _ = env.reset(seed=RANDOM_SEED + k)
            total, done = 0.0, False
            while not done:
                seen.append(obs)
                obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
                total += float(reward)
                done = terminated or truncated
            totals.append(total)
        threshold = env.spec.reward_threshold if env.spec else None
    finally:
        env.close()
    observations = np.asarray(seen, dtype=float)
    return RandomPolicy(env_id, float(np.mean(totals)),
                        tuple(observations.mean(axis=0).tolist()),
                        tuple(np.maximum(observations.std(axis=0), MIN_STD).tolist()),
                        None if threshold is None else float(threshold))
