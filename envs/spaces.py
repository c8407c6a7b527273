"""Which gymnasium environments a genome can act in, and the network shape they need."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import gymnasium as gym
import numpy as np


class UnknownEnvironmentError(ValueError):
    """An environment id that cannot be used (unknown, or spaces we cannot drive)."""


@dataclass(frozen=True)
class EnvInfo:
    """Observation and action shapes of an environment, enough to size a network."""

    env_id: str
    obs_dim: int
    act_dim: int
    discrete: bool
    action_low: tuple[float, ...]
    action_high: tuple[float, ...]
    reward_threshold: float | None = None  # the return its gymnasium spec calls solved


def make_env(env_id: str) -> gym.Env:
    """Create an environment, turning gymnasium's lookup errors into one that names the id."""
    try:
        return gym.make(env_id)
    except gym.error.Error as exc:
        raise UnknownEnvironmentError(f"unknown environment id {env_id!r}: {exc}") from None


def describe(env: gym.Env) -> EnvInfo:
    """Check an environment's spaces and return what a policy network needs to know."""
    env_id = env.spec.id if env.spec else type(env.unwrapped).__name__
    threshold = env.spec.reward_threshold if env.spec else None
    obs = env.observation_space
    if not isinstance(obs, gym.spaces.Box) or len(obs.shape) != 1:
        raise UnknownEnvironmentError(
            f"environment {env_id!r} needs a flat Box observation space, has {obs}"
        )
    act = env.action_space
    if isinstance(act, gym.spaces.Discrete):
        return EnvInfo(env_id, obs.shape[0], int(act.n), True, (), (), threshold)
    if isinstance(act, gym.spaces.Box) and len(act.shape) == 1:
        low = np.broadcast_to(act.low, act.shape).astype(float)
        high = np.broadcast_to(act.high, act.shape).astype(float)
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise UnknownEnvironmentError(f"environment {env_id!r} has an unbounded action space")
        return EnvInfo(env_id, obs.shape[0], act.shape[0], False, tuple(low), tuple(high),
                       threshold)
    raise UnknownEnvironmentError(
        f"environment {env_id!r} needs Discrete or flat Box actions, has {act}"
    )


@lru_cache(maxsize=64)
def env_info(env_id: str) -> EnvInfo:
    """Describe an environment by id (creates and closes one instance, once per process)."""
    env = make_env(env_id)
    try:
        return describe(env)
    finally:
        env.close()
