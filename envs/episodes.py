"""Lifetimes of a batch of genomes in lockstep: every genome sees the same episode seeds.

A lifetime is K episodes. Its weights are set once, at its start (the genome's,
or fresh random ones for `rules` genomes), and what the rule learns in one
episode carries into the next. Returns come back per episode, so a caller can
read the within-lifetime learning curve and choose how a lifetime is scored
(`lifetime_fitness`).
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numba
import numpy as np

from envs.network import PlasticNetwork
from envs.simulators import EnvpoolBatch, GymnasiumBatch

Batch = GymnasiumBatch | EnvpoolBatch

HELD_OUT_SEED_BASE = 2**31  # training seeds are drawn below this, held-out ones from it up


def weight_seeds(episode_seeds: np.ndarray) -> np.ndarray:
    """Seeds of each lifetime's random initial weights, tied to its episode's seed."""
    return (np.asarray(episode_seeds, dtype=np.uint64) * np.uint64(0x9E3779B1)
            + np.uint64(0x85EBCA6B)) % np.uint64(2**63)


def run_lifetimes(
    sim: Batch | Sequence[gym.Env],
    network: PlasticNetwork,
    seeds: Sequence[int] | np.ndarray,
    max_steps: int | None = None,
    reward_floor: float | None = None,
) -> tuple[np.ndarray, int]:
    """Return of every episode of every row's lifetime, (P, K), and the env steps taken.

    `sim` steps the batch (envs/simulators.py; a list of gymnasium environments is
    stepped as gymnasium's). `seeds` is (K,) shared by every row (training: a fair
    comparison), or (P, K) with each row's own episode seeds. A row's initial weights
    come from the seed of its first episode. With `reward_floor`, a step's reward below
    it adds the floor to the return instead (training fitness only: the network's rule
    always learns from the true reward).
    """
    if not hasattr(sim, "step"):
        envs = list(sim)
        sim = GymnasiumBatch(envs[0].spec.id if envs and envs[0].spec else "", envs)
    P = network.P
    seeds = np.asarray(seeds, dtype=np.int64)
    seeds = np.broadcast_to(seeds, (P, seeds.shape[-1]))
    returns = np.zeros((P, seeds.shape[1]))
    steps = 0
    network.reset(weight_seeds(seeds[:, 0]))
    for episode in range(seeds.shape[1]):
        network.begin_episode(seeds[:, episode])
        obs = sim.reset(seeds[:, episode])
        steps += _run_episode(sim, network, obs, returns[:, episode], max_steps, reward_floor)
    network.restore()
    return returns, steps


def lifetime_fitness(returns: np.ndarray, how: str) -> np.ndarray:
    """Score of lifetimes from their episode returns (..., K): see LIFETIME_FITNESS."""
    K = returns.shape[-1]
    if how == "mean":
        return returns.mean(axis=-1)
    if how == "last_half":
        return returns[..., K // 2 :].mean(axis=-1)
    if how == "weighted":
        weights = np.arange(1, K + 1, dtype=float)
        return returns @ (weights / weights.sum())
    raise ValueError(f"unknown lifetime fitness {how!r}; known: {', '.join(LIFETIME_FITNESS)}")


LIFETIME_FITNESS = {
    "mean": "mean return of all episodes of a lifetime",
    "last_half": "mean return of its later half (episodes K//2 ... K-1): learning, not luck",
    "weighted": "episode k (1-based) weighted by k: later episodes count more",
}


TRAIN_FITNESS = {
    "mean": "the mean of its lifetimes' scores",
    "lower_quarter": "the mean of its worst quarter of lifetimes (at least one): a rule that "
                     "fails on some initial weights ranks below one that never does",
}


def across_lifetimes(lifetimes: np.ndarray, how: str) -> np.ndarray:
    """A genome's training fitness from the scores of its lifetimes (P, L): see TRAIN_FITNESS."""
    if how == "mean":
        return lifetimes.mean(axis=-1)
    if how == "lower_quarter":
        worst = max(1, lifetimes.shape[-1] // 4)
        return np.sort(lifetimes, axis=-1)[..., :worst].mean(axis=-1)
    raise ValueError(f"unknown training fitness {how!r}; known: {', '.join(TRAIN_FITNESS)}")


def _run_episode(
    sim: Batch, network: PlasticNetwork, obs: np.ndarray,
    totals: np.ndarray, max_steps: int | None, reward_floor: float | None = None,
) -> int:
    """One episode of every row, from the observations `obs`; adds returns to `totals`.

    Only the rows whose episode runs are stepped, so no environment runs past its
    episode's end (envpool would reset it and start another). When half of the batch
    has ended, the network shrinks to the rows still running, so the array work per
    step follows the episodes that are left. A step's bookkeeping is one compiled call
    (`_settle`) into arrays made once per batch size: a batch's tail is many steps of a
    few rows, where a dozen small numpy calls per step cost more than the rows' network.
    """
    rows = np.arange(network.P)  # population rows still in the batch
    running = np.ones(network.P, dtype=bool)  # per batch row: its episode has not ended
    live = np.arange(network.P)  # the batch rows whose episode runs, in order
    slots = np.arange(network.P, dtype=np.int32)  # the simulator's environment of each row
    live_slots = slots
    batch_totals = np.zeros(network.P)  # returns so far, added to `totals` as rows leave
    step = _StepArrays(obs)
    floor = -np.inf if reward_floor is None else float(reward_floor)
    steps = t = 0
    while len(rows) and (max_steps is None or t < max_steps):
        actions = network.act(step.obs)
        capped = max_steps is not None and t == max_steps - 1  # the cap ends every episode
        # Every row runs (most steps, and every step of a tail after a shrink): the whole
        # batch is stepped, with no copies into place.
        whole = len(live) == len(rows)
        o, r, terminated, truncated = sim.step(actions if whole else actions[live], live_slots)
        any_ended = _settle(live, o, r, terminated, truncated, capped, floor, running,
                            step.obs, step.reward, step.stepped, step.done, step.terminal,
                            batch_totals)
        steps += len(live)
        # the final reward of an episode still teaches; `done`: the rows that ended now
        network.learn(step.reward, step.stepped, step.done, step.terminal)
        if any_ended:
            live = np.flatnonzero(running)
            if len(live) * 2 <= len(rows):
                network.shrink(live)
                gone = np.flatnonzero(~running)
                totals[rows[gone]] += batch_totals[gone]  # each row's return, added once
                rows, running = rows[live], running[live]
                batch_totals, slots = batch_totals[live], slots[live]
                step = _StepArrays(step.obs[live])
                live = np.arange(len(rows))
            live_slots = slots[live]
        t += 1
    totals[rows] += batch_totals  # the rows the cap or the end left in the batch
    return steps


class _StepArrays:
    """One step's per-row arrays of a batch of fixed size, rewritten by every `_settle`."""

    def __init__(self, obs: np.ndarray):
        n = len(obs)
        self.obs = np.array(obs, dtype=float)  # ours: the simulator's arrays are never kept
        self.reward = np.zeros(n)
        self.stepped = np.zeros(n, dtype=bool)  # its episode ran into this step
        self.done = np.zeros(n, dtype=bool)  # its episode ended with this step
        self.terminal = np.zeros(n, dtype=bool)  # ended in a terminal state (not truncated)


@numba.njit(cache=True, nogil=True)
def _settle(live, obs_live, reward_live, terminated, truncated, capped, floor, running,
            obs, reward, stepped, done, terminal, totals):
    """Put one step's results for the batch rows `live` in place, end the episodes that
    ended (all of them when `capped`) and add each live row's reward, or `floor` where it
    is higher, to `totals`. Rows not in `live` (ended) get reward 0 and add nothing, so a
    floor above 0 never pays an ended episode. Returns whether any ended.

    The arithmetic is numpy's of the loop it replaces: float32 results widen exactly, and
    a reward below the floor (never a NaN) is replaced, as np.maximum did.
    """
    any_ended = capped
    for i in range(running.shape[0]):
        stepped[i] = running[i]
        reward[i] = 0.0
        done[i] = False
        terminal[i] = False
    for k in range(live.shape[0]):
        i = live[k]
        for j in range(obs.shape[1]):
            obs[i, j] = obs_live[k, j]
        reward[i] = reward_live[k]
        value = reward[i]
        if value < floor:
            value = floor
        totals[i] += value
        terminal[i] = terminated[k]
        if terminated[k] or truncated[k] or capped:
            done[i] = True
            running[i] = False
            any_ended = True
    return any_ended
