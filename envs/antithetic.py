"""Perturbations of the `-antithetic` recurrent families: episodes in mirrored pairs.

The equations are in `genome.rules` (module docstring). Everything else, the cells, the
update and the state's layout, is `envs.recurrent`'s; a row's state (a column: rows
innermost) ends with one more block, the pair's draws zeta, laid out like `params`:

    [0, recurrent.state_size)                      as in envs/recurrent.py
    [recurrent.state_size, + n_params)             zeta of the pair's first episode

Episode 2j draws zeta from its seed (as `recurrent` does) and keeps it; episode 2j + 1
plays -zeta. Both are scaled by their own episode's anneal and gate.
"""

from __future__ import annotations

import numba
import numpy as np

from envs.kernels import OPTIONS
from envs.learned import DELTA_STEP
from envs.recurrent import ANNEAL, JITTER, offsets
from envs.recurrent import state_size as recurrent_state_size
from envs.threefactor import gaussian

_jit = numba.njit(**OPTIONS)


def state_size(n_params: int, n_layers: int, n_s: int) -> int:
    """`recurrent`'s state, then the pair's draws."""
    return recurrent_state_size(n_params, n_layers, n_s) + n_params


@_jit
def draw_paired_perturbations(state, n_params, layers, rules, seeds, n_s):
    """delta = jitter_l anneal_l^k 2 sigmoid(p . h + p_bias) zeta_k for every weight, biases 0;
    zeta_k is drawn from the episode's seed for even k and is -zeta_{k-1} for odd k.
    Rows innermost, as `envs.recurrent`: state (slots, rows), rules (layers, params, rows)."""
    episodes = (n_s + 1) * n_params + 3 * layers.shape[0] + 1
    zeta_at = episodes + 1
    delta = state[n_s * n_params : (n_s + 1) * n_params]
    gate = offsets(n_s)[8] + 1  # p, then p_bias, after o
    for layer in range(layers.shape[0]):
        n_in, n_out, w0, b0, _, _ = layers[layer]
        rule = rules[layer]
        for r in range(seeds.shape[0]):
            mirror = int(state[episodes, r]) % 2 == 1
            scale = rule[JITTER, r] * rule[ANNEAL, r] ** state[episodes, r]
            for k in range(w0, b0):
                a = rule[gate + n_s, r]
                for j in range(n_s):
                    a += rule[gate + j, r] * state[k * n_s + j, r]
                if mirror:
                    zeta = -state[zeta_at + k, r]
                else:
                    zeta = gaussian(seeds[r], DELTA_STEP, k)
                    state[zeta_at + k, r] = zeta
                delta[k, r] = 2.0 / (1.0 + np.exp(-a)) * scale * zeta
        delta[b0 : b0 + n_out] = 0.0
