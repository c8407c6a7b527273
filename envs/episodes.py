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
    for episode in range(seeds.shape[1]):
        if episode == 0 or not carry_weights:
            network.reset(weight_seeds(seeds[:, episode]))
        else:
            network.restore()
        for i in range(P):
            obs[i] = envs[i].reset(seed=int(seeds[i, episode]))[0]
        steps += _run_episode(envs, network, obs, totals, max_steps)
    network.restore()
    return totals / seeds.shape[1], steps


def _run_episode(
    envs: Sequence[gym.Env], network: PlasticNetwork, obs: np.ndarray,
    totals: np.ndarray, max_steps: int | None,
) -> int:
    """One episode of every row, from the observations `obs`; adds returns to `totals`.

    When half of the batch has ended, the network shrinks to the rows still
    running, so the array work per step follows the episodes that are left.
    """
    rows = np.arange(network.P)  # population rows still in the batch
    running = np.ones(network.P, dtype=bool)  # per batch row: its episode has not ended
    steps = t = 0
    while len(rows) and (max_steps is None or t < max_steps):
        actions = network.act(obs)
        reward = np.zeros(len(rows))
        stepped = running.copy()  # the final reward of an episode still teaches
        for j in np.flatnonzero(running):
            o, r, terminated, truncated, _ = envs[rows[j]].step(actions[j])
            obs[j] = o
            reward[j] = r
            if terminated or truncated:
                running[j] = False
        steps += int(stepped.sum())
        totals[rows] += reward
        network.learn(reward, stepped)
        if running.sum() * 2 <= len(rows):
            keep = np.flatnonzero(running)
            network.shrink(keep)
            rows, obs, running = rows[keep], obs[keep], running[keep]
        t += 1
    return steps
