"""Scores on held-out episode seeds: seeds no training generation can ever draw.

Training draws episode seeds below HELD_OUT_SEED_BASE; held-out scoring uses
consecutive seeds from it up, so a reported score never reuses a training seed.
"""

from __future__ import annotations

import numpy as np

from envs.episodes import HELD_OUT_SEED_BASE
from envs.evaluator import Evaluator


def held_out_seeds(lifetimes: int, episodes_per_lifetime: int = 1, offset: int = 0) -> np.ndarray:
    """(lifetimes, episodes_per_lifetime) distinct held-out seeds, from 2^31 + offset up."""
    if offset < 0:
        raise ValueError(f"held-out seeds start at 2^31 + offset; offset {offset} is negative")
    start = HELD_OUT_SEED_BASE + offset
    return np.arange(start, start + lifetimes * episodes_per_lifetime, dtype=np.int64).reshape(
        lifetimes, episodes_per_lifetime
    )


def held_out_curves(
    evaluator: Evaluator, x: np.ndarray, lifetimes: int = 100, episodes_per_lifetime: int = 1,
    offset: int = 0,
) -> np.ndarray:
    """Return of every episode of `lifetimes` held-out lifetimes of one genome, (lifetimes, K)."""
    seeds = held_out_seeds(lifetimes, episodes_per_lifetime, offset)
    return evaluator.episode_returns(np.asarray(x, dtype=float)[None, :], seeds)[0]

