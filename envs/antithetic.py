"""Perturbations of the `-antithetic` recurrent families: episodes in mirrored pairs.

The equations are in `genome.rules` (module docstring). Everything else, the cells, the
update and the state's layout, is `envs.recurrent`'s; a row's state ends with one more
block, the pair's draws zeta, laid out like `params`:

    [0, recurrent.state_size)                      as in envs/recurrent.py
    [recurrent.state_size, + n_params)             zeta of the pair's first episode

Episode 2j draws zeta from its seed (as `recurrent` does) and keeps it; episode 2j + 1
plays -zeta. Both are scaled by their own episode's anneal and gate.
"""

from __future__ import annotations

import numba
import numpy as np

from envs.learned import DELTA_STEP
from envs.recurrent import ANNEAL, JITTER, offsets
from envs.recurrent import state_size as recurrent_state_size
from envs.threefactor import gaussian

_jit = numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})


def state_size(n_params: int, n_layers: int, n_s: int) -> int:
    """`recurrent`'s state, then the pair's draws."""
    return recurrent_state_size(n_params, n_layers, n_s) + n_params


@_jit
def draw_paired_perturbations(state, n_params, sizes, rules, seeds, n_s):
    """delta = jitter_l anneal_l^k 2 sigmoid(p . h + p_bias) zeta_k for every weight, biases 0;
    zeta_k is drawn from the episode's seed for even k and is -zeta_{k-1} for odd k."""
    n_layers = sizes.shape[0] - 1
    episodes = (n_s + 1) * n_params + 3 * n_layers + 1
    zeta_at = episodes + 1
    delta = state[:, n_s * n_params : (n_s + 1) * n_params]
    gate = offsets(n_s)[8] + 1  # p, then p_bias, after o
    for r in range(delta.shape[0]):
        mirror = int(state[r, episodes]) % 2 == 1
        p = 0
        for layer in range(n_layers):
            n_w = sizes[layer] * sizes[layer + 1]
            rule = rules[r, layer]
            scale = rule[JITTER] * rule[ANNEAL] ** state[r, episodes]
            for k in range(n_w):
                a = rule[gate + n_s]
                for j in range(n_s):
                    a += rule[gate + j] * state[r, (p + k) * n_s + j]
                if mirror:
                    zeta = -state[r, zeta_at + p + k]
                else:
                    zeta = gaussian(seeds[r], DELTA_STEP, p + k)
                    state[r, zeta_at + p + k] = zeta
                delta[r, p + k] = 2.0 / (1.0 + np.exp(-a)) * scale * zeta
            for k in range(sizes[layer + 1]):
                delta[r, p + n_w + k] = 0.0
            p += n_w + sizes[layer + 1]
