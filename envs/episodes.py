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


def weight_seeds(episode_seeds: np.ndarray) -> np.ndarray:
    """Seeds of each lifetime's random initial weights, tied to its episode's seed."""
    return (np.asarray(episode_seeds, dtype=np.uint64) * np.uint64(0x9E3779B1)
            + np.uint64(0x85EBCA6B)) % np.uint64(2**63)


def run_lifetimes(
    envs: Sequence[gym.Env],
    network: PlasticNetwork,
    seeds: Sequence[int] | np.ndarray,
    max_steps: int | None = None,
    carry_weights: bool = False,
) -> tuple[np.ndarray, int]:
    """Mean return per genome over one episode per seed, and the number of env steps taken.

    `seeds` is (episodes,) shared by every genome (training: a fair comparison),
    or (P, episodes) with each genome's own seeds (held-out scoring of copies).
    """
    P = network.P
    seeds = np.asarray(seeds, dtype=np.int64)
    seeds = np.broadcast_to(seeds, (P, seeds.shape[-1]))
    if len(envs) < P:
        raise ValueError(f"need {P} environments, got {len(envs)}")
    totals = np.zeros(P)
    steps = 0
    obs = np.empty((P, network.info.obs_dim))
    reward = np.zeros(P)
    for episode in range(seeds.shape[1]):
        if episode == 0 or not carry_weights:
            network.reset(weight_seeds(seeds[:, episode]))
        for i in range(P):
            obs[i] = envs[i].reset(seed=int(seeds[i, episode]))[0]
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
    return totals / seeds.shape[1], steps

