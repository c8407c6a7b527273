"""Lifetimes of a batch of genomes in lockstep: every genome sees the same episode seeds.

A lifetime is `episodes` episodes. By default the weights are reset to the
genome's (or, for `rules` genomes, to fresh random ones) at the start of every
episode; with `carry_weights` they are reset once and what the rule learned in
one episode carries into the next.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from envs.network import PlasticNetwork

HELD_OUT_SEED_BASE = 2**31  # training seeds are drawn below this, held-out ones from it up


def weight_seed(episode_seed: int) -> int:
    """The seed of a lifetime's random initial weights, tied to its first episode's seed."""
    return (episode_seed * 0x9E3779B1 + 0x85EBCA6B) % 2**63


def run_lifetimes(
    envs: Sequence[gym.Env],
    network: PlasticNetwork,
    seeds: Sequence[int],
    max_steps: int | None = None,
    carry_weights: bool = False,
) -> tuple[np.ndarray, int]:
    """Mean return per genome over one episode per seed, and the number of env steps taken."""
    P = network.P
    if len(envs) < P:
        raise ValueError(f"need {P} environments, got {len(envs)}")
    totals = np.zeros(P)
    steps = 0
    obs = np.empty((P, network.info.obs_dim))
    reward = np.zeros(P)
    for episode, seed in enumerate(seeds):
        if episode == 0 or not carry_weights:
            network.reset(np.random.default_rng(weight_seed(int(seed))))
        for i in range(P):
            obs[i] = envs[i].reset(seed=int(seed))[0]
        active = np.ones(P, dtype=bool)
        alive = list(range(P))
        t = 0
        while alive and (max_steps is None or t < max_steps):
            actions = network.act(obs)
            reward[:] = 0.0
            stepped = active.copy()  # the final reward of an episode still teaches
            still = []
            for i in alive:
                o, r, terminated, truncated, _ = envs[i].step(actions[i])
                obs[i] = o
                reward[i] = r
                if terminated or truncated:
                    active[i] = False
                else:
                    still.append(i)
            steps += len(alive)
            totals += reward
            network.learn(reward, stepped)
            alive = still
            t += 1
    return totals / len(seeds), steps

