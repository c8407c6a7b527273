"""Compiled update of the `recurrent` family: a gated recurrent cell in every synapse.

The equations, their sources and every parameter are in `genome.rules` (module
docstring). The noisy forward pass is threefactor's (`envs.threefactor.forward_noisy`)
with each synapse perturbed for the episode by `delta`, drawn as `learned` draws it.
Rows innermost, as in `envs.kernels`: `state` (slots, rows) holds, one column per row:

    [0, S n_params)              every synapse's recurrent state h, synapse-major
                                 (slot (w S + k) for synapse w; bias slots unused)
    [S n_params, (S+1) n_params)  the episode's perturbations delta, laid out like `params`
    s_bar[l], r_bar[l], r_dev[l]  per layer, as in threefactor
    episode return, episodes ended in this lifetime
    [.., + n_params)             the `-antithetic` families only: zeta of the pair's first
                                 episode, laid out like `params`

Nothing restarts with an episode but delta: h is the synapse's memory of its lifetime.
The `-antithetic` families play their episodes in mirrored pairs: episode 2j draws zeta
from its seed and keeps it, episode 2j + 1 plays -zeta; both are scaled by their own
episode's anneal and gate.
The gates' sigmoid and tanh are `envs.kernels.tanh` (float32 precision, as the forward
pass's): libm's exp and tanh were most of a step (26 us per row-step at 256 rows).
"""

from __future__ import annotations

import numba
import numpy as np

from envs.kernels import OPTIONS, tanh
from envs.learned import DELTA_STEP
from envs.threefactor import NOISE as _NOISE
from envs.threefactor import gaussian, reward_signals
from genome.rules import (
    EXPLORE_FAMILIES,
    RECURRENT,
    RECURRENT_FAMILIES,
    RECURRENT_FEATURES,
    RECURRENT_SCALARS,
    explores,
    recurrent_state,
)

N_F = len(RECURRENT_FEATURES)
ETA, DECAY, NOISE, BASELINE, JITTER, ANNEAL = range(len(RECURRENT_SCALARS))
AZ = len(RECURRENT_SCALARS)  # the cell's weights follow the scalars (see genome.rules)
assert RECURRENT.names[:AZ] == ("eta", "decay", "noise", "baseline", "jitter", "anneal")
assert NOISE == _NOISE  # the noisy forward pass reads it there
# The cell's inputs: six per synapse, then four per layer and row (folded into the biases).
assert RECURRENT_FEATURES == ("pre", "post", "noise_pre", "weight", "delta", "return_delta",
                              "step", "return", "terminal", "end")


_jit = numba.njit(**OPTIONS)


@_jit
def cell_offsets(az, n_f, n_s):
    """Where Bz, bz, Ac, Bc, bc and what follows the cell start, for a gated cell of n_s
    numbers reading n_f features whose Az starts at `az` (genome.rules' `_cell_names`)."""
    bz = az + n_s * n_f
    cz = bz + n_s * n_s
    ac = cz + n_s
    bc = ac + n_s * n_f
    cc = bc + n_s * n_s
    return bz, cz, ac, bc, cc, cc + n_s


@_jit
def offsets(n_s):
    """Where Bz, bz, Ac, Bc, bc, v, u, q, o start in a layer's parameters, for state n_s
    (Az starts at AZ)."""
    bz, cz, ac, bc, cc, v = cell_offsets(AZ, N_F, n_s)
    return bz, cz, ac, bc, cc, v, v + n_s, v + 2 * n_s, v + 2 * n_s + N_F


for _family in (*RECURRENT_FAMILIES.values(), *EXPLORE_FAMILIES.values()):  # fail at import
    _n_s = recurrent_state(_family)                                        # if the layout drifts
    _at = dict(zip(("z.h0.h0", "z.h0.bias", "c.h0.pre", "c.h0.h0", "c.h0.bias", "v.h0", "u.h0",
                    "q.pre", "o"), offsets(_n_s), strict=True))
    assert all(_family.names[k] == name for name, k in _at.items())
    if explores(_family):  # the gate p, p_bias follows o
        assert _family.names[_at["o"] + 1] == "p.h0" and _family.names[-1] == "p.bias"
        assert _at["o"] + 2 + _n_s == _family.n_params
    else:
        assert _at["o"] + 1 == _family.n_params


def state_size(n_params: int, n_layers: int, n_s: int, paired: bool = False) -> int:
    """Length of a row's rule state: cell states, perturbations, baselines, return, count
    (and, for mirrored pairs, the pair's draws)."""
    return (n_s + 1) * n_params + 3 * n_layers + 2 + (n_params if paired else 0)


def delta_slice(n_params: int, n_s: int) -> slice:
    """Where a row's state keeps its synapses' perturbations."""
    return slice(n_s * n_params, (n_s + 1) * n_params)


@_jit
def draw_perturbations(state, n_params, layers, rules, seeds, n_s, explore, paired):
    """delta = jitter_l anneal_l^k zeta_k for every weight, zeta_k = xi(episode seed, synapse);
    biases 0. With `explore`, each weight's delta is scaled by 2 sigmoid(p . h + p_bias) of
    its cell; with `paired`, an odd episode k plays -zeta_{k-1}, kept after the count."""
    episodes = (n_s + 1) * n_params + 3 * layers.shape[0] + 1
    zeta_at = episodes + 1
    delta = state[n_s * n_params : (n_s + 1) * n_params]
    gate = offsets(n_s)[8] + 1  # p, then p_bias, after o
    for layer in range(layers.shape[0]):
        n_in, n_out, w0, b0, _, _ = layers[layer]
        rule = rules[layer]
        for r in range(seeds.shape[0]):
            mirror = paired and int(state[episodes, r]) % 2 == 1
            scale = rule[JITTER, r] * rule[ANNEAL, r] ** state[episodes, r]
            for k in range(w0, b0):
                g = 1.0
                if explore:
                    a = rule[gate + n_s, r]
                    for j in range(n_s):
                        a += rule[gate + j, r] * state[k * n_s + j, r]
                    g = 2.0 / (1.0 + np.exp(-a))
                if mirror:
                    zeta = -state[zeta_at + k, r]
                else:
                    zeta = gaussian(seeds[r], DELTA_STEP, k)
                    if paired:
                        state[zeta_at + k, r] = zeta
                delta[k, r] = g * scale * zeta
        delta[b0 : b0 + n_out] = 0.0


@_jit
def add_recurrence(a_z, a_c, rule, bz, bc, state, cell, n_s):
    """Add the gates' recurrent inputs Bz h and Bc h to a_z and a_c (n_s x rows), from the
    state of cell `cell` (its n_s numbers are rows of `state` from cell * n_s) as it was.
    The one gated cell of the recurrent and neuron-state families."""
    for k in range(n_s):
        for j in range(n_s):
            h = state[cell * n_s + j]
            Bz, Bc = rule[bz + k * n_s + j], rule[bc + k * n_s + j]
            for r in range(a_z.shape[1]):
                a_z[k, r] += Bz[r] * h[r]
                a_c[k, r] += Bc[r] * h[r]


@_jit
def gate_cell(a_z, a_c, state, cell, n_s, live):
    """h <- (1 - z) h + z tanh(a_c), z = sigmoid(a_z), for the state of cell `cell`; a row
    with `live` 0 keeps its state."""
    for k in range(n_s):
        h = state[cell * n_s + k]
        for r in range(a_z.shape[1]):
            z = (0.5 + 0.5 * tanh(0.5 * a_z[k, r])) * live[r]  # sigmoid; 0: kept
            h[r] += z * (tanh(a_c[k, r]) - h[r])


@_jit
def learn_recurrent(params, layers, acts, clean, rules, state, reward, active, done, terminal,
                    mean, var, alpha, clip, w_max, n_s):
    """One step of every synapse's cell for every running row; W' = W (1 - decay) + eta out.

    Per synapse: z = sigmoid(Az x + Bz h + bz), h <- (1 - z) h + z tanh(Ac x + Bc h + bc),
    out = v . h + q . x + o (+ u . h at an episode's end). The inputs that are one per layer
    and row (step, return, terminal, end) enter the biases once, not at every synapse.
    A row that no longer runs keeps its weights and cells (eta 0, keep 1, z 0).
    """
    n_params, rows = params.shape
    base = (n_s + 1) * n_params
    ds, ret = reward_signals(state, rules, BASELINE, base, reward, active, done, mean, var,
                             alpha, clip)
    bz, cz, ac, bc, cc, v, u, q, o_at = offsets(n_s)
    coef = np.empty((4, rows))
    eta, keep, live, out_bias = coef[0], coef[1], coef[2], coef[3]
    z_bias, c_bias, v_now = np.empty((n_s, rows)), np.empty((n_s, rows)), np.empty((n_s, rows))
    a_z, a_c = np.empty((n_s, rows)), np.empty((n_s, rows))
    noise, out = np.empty(rows), np.empty(rows)
    for layer in range(layers.shape[0]):
        n_in, n_out, w0, _, a_in, a_out = layers[layer]
        rule = rules[layer]
        for r in range(rows):
            on = active[r]
            eta[r], keep[r], live[r] = ((rule[ETA, r], 1.0 - rule[DECAY, r], 1.0) if on
                                        else (0.0, 1.0, 0.0))
            x6, x7 = ds[layer, r], ret[layer, r]
            x8, x9 = (1.0 if terminal[r] else 0.0), (1.0 if done[r] else 0.0)
            out_bias[r] = (rule[o_at, r] + rule[q + 6, r] * x6 + rule[q + 7, r] * x7
                           + rule[q + 8, r] * x8 + rule[q + 9, r] * x9)
            for k in range(n_s):
                z, c = AZ + k * N_F, ac + k * N_F
                z_bias[k, r] = (rule[cz + k, r] + rule[z + 6, r] * x6 + rule[z + 7, r] * x7
                                + rule[z + 8, r] * x8 + rule[z + 9, r] * x9)
                c_bias[k, r] = (rule[cc + k, r] + rule[c + 6, r] * x6 + rule[c + 7, r] * x7
                                + rule[c + 8, r] * x8 + rule[c + 9, r] * x9)
                v_now[k, r] = rule[v + k, r] + rule[u + k, r] * x9
        for o in range(n_out):
            post = acts[a_out + o]
            cl = clean[a_out + o]
            for r in range(rows):
                noise[r] = post[r] - cl[r]
            for i in range(n_in):
                w = w0 + o * n_in + i
                pre, W, delta = acts[a_in + i], params[w], state[n_s * n_params + w]
                for k in range(n_s):  # the gates' inputs, from the cells as they were
                    z, c = AZ + k * N_F, ac + k * N_F
                    for r in range(rows):
                        x2, x3, x5 = noise[r] * pre[r], W[r] / w_max, ret[layer, r] * delta[r]
                        a_z[k, r] = (z_bias[k, r] + rule[z, r] * pre[r] + rule[z + 1, r] * post[r]
                                     + rule[z + 2, r] * x2 + rule[z + 3, r] * x3
                                     + rule[z + 4, r] * delta[r] + rule[z + 5, r] * x5)
                        a_c[k, r] = (c_bias[k, r] + rule[c, r] * pre[r] + rule[c + 1, r] * post[r]
                                     + rule[c + 2, r] * x2 + rule[c + 3, r] * x3
                                     + rule[c + 4, r] * delta[r] + rule[c + 5, r] * x5)
                add_recurrence(a_z, a_c, rule, bz, bc, state, w, n_s)
                for r in range(rows):
                    x2, x3, x5 = noise[r] * pre[r], W[r] / w_max, ret[layer, r] * delta[r]
                    out[r] = (out_bias[r] + rule[q, r] * pre[r] + rule[q + 1, r] * post[r]
                              + rule[q + 2, r] * x2 + rule[q + 3, r] * x3
                              + rule[q + 4, r] * delta[r] + rule[q + 5, r] * x5)
                gate_cell(a_z, a_c, state, w, n_s, live)
                for k in range(n_s):
                    h = state[w * n_s + k]
                    for r in range(rows):
                        out[r] += v_now[k, r] * h[r]
                for r in range(rows):
                    W[r] = min(max(W[r] * keep[r] + eta[r] * out[r], -w_max), w_max)
