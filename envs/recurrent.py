"""Compiled update of the `recurrent` family: a gated recurrent cell in every synapse.

The equations, their sources and every parameter are in `genome.rules` (module
docstring). The noisy forward pass is threefactor's (`envs.threefactor.forward_noisy`)
with each synapse perturbed for the episode by `delta`, drawn as `learned` draws it.
Per row, `state` holds:

    [0, S n_params)              every synapse's recurrent state h, synapse-major
                                 (slot (w S + k) for synapse w; bias slots unused)
    [S n_params, (S+1) n_params)  the episode's perturbations delta, laid out like `params`
    s_bar[l], r_bar[l], r_dev[l]  per layer, as in threefactor
    episode return, episodes ended in this lifetime

Nothing restarts with an episode but delta: h is the synapse's memory of its lifetime.
"""

from __future__ import annotations

import numba
import numpy as np

from envs.kernels import normalised_reward
from envs.learned import DELTA_STEP
from envs.threefactor import end_of_episode, gaussian
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


_jit = numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})


@_jit
def offsets(n_s):
    """Where Bz, bz, Ac, Bc, bc, v, u, q, o start in a layer's parameters, for state n_s
    (Az starts at AZ)."""
    bz = AZ + n_s * N_F
    cz = bz + n_s * n_s
    ac = cz + n_s
    bc = ac + n_s * N_F
    cc = bc + n_s * n_s
    v = cc + n_s
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


def state_size(n_params: int, n_layers: int, n_s: int) -> int:
    """Length of a row's rule state: cell states, perturbations, baselines, return, count."""
    return (n_s + 1) * n_params + 3 * n_layers + 2


def delta_slice(n_params: int, n_s: int) -> slice:
    """Where a row's state keeps its synapses' perturbations."""
    return slice(n_s * n_params, (n_s + 1) * n_params)


@_jit
def draw_perturbations(state, n_params, sizes, rules, seeds, n_s, explore):
    """delta = jitter_l anneal_l^k xi(episode seed, synapse) for every weight; biases 0.
    With `explore`, each weight's delta is scaled by 2 sigmoid(p . h + p_bias) of its cell."""
    n_layers = sizes.shape[0] - 1
    episodes = (n_s + 1) * n_params + 3 * n_layers + 1
    delta = state[:, n_s * n_params : (n_s + 1) * n_params]
    gate = offsets(n_s)[8] + 1  # p, then p_bias, after o
    for r in range(delta.shape[0]):
        p = 0
        for layer in range(n_layers):
            n_w = sizes[layer] * sizes[layer + 1]
            rule = rules[r, layer]
            scale = rule[JITTER] * rule[ANNEAL] ** state[r, episodes]
            for k in range(n_w):
                g = 1.0
                if explore:
                    a = rule[gate + n_s]
                    for j in range(n_s):
                        a += rule[gate + j] * state[r, (p + k) * n_s + j]
                    g = 2.0 / (1.0 + np.exp(-a))
                delta[r, p + k] = g * scale * gaussian(seeds[r], DELTA_STEP, p + k)
            for k in range(sizes[layer + 1]):
                delta[r, p + n_w + k] = 0.0
            p += n_w + sizes[layer + 1]


@_jit
def cell_step(rule, x, h, g, end, n_s):
    """One synapse: h <- (1 - z) h + z c in place; returns v . h + q . x + o (+ u . h at
    an episode's `end`)."""
    bz, cz, ac, bc, cc, v, u, q, o = offsets(n_s)
    for k in range(n_s):
        a_z = rule[cz + k]
        a_c = rule[cc + k]
        for f in range(N_F):
            a_z += rule[AZ + k * N_F + f] * x[f]
            a_c += rule[ac + k * N_F + f] * x[f]
        for j in range(n_s):
            a_z += rule[bz + k * n_s + j] * h[j]
            a_c += rule[bc + k * n_s + j] * h[j]
        z = 1.0 / (1.0 + np.exp(-a_z))
        g[k] = (1.0 - z) * h[k] + z * np.tanh(a_c)
    out = rule[o]
    for k in range(n_s):
        h[k] = g[k]
        out += rule[v + k] * h[k]
        if end:
            out += rule[u + k] * h[k]
    for f in range(N_F):
        out += rule[q + f] * x[f]
    return out


@_jit
def learn_recurrent(params, sizes, acts, clean, rules, state, reward, active, done, terminal,
                    mean, var, alpha, clip, w_max, n_s):
    """One step of every synapse's cell for every running row; W' = W (1 - decay) + eta out."""
    s_norm = normalised_reward(reward, active, mean, var, alpha, clip)
    n_layers = sizes.shape[0] - 1
    n_params = params.shape[1]
    base = (n_s + 1) * n_params
    ret_slot = base + 3 * n_layers
    x = np.empty(N_F)
    g = np.empty(n_s)
    for r in range(params.shape[0]):
        if not active[r]:
            continue
        state[r, ret_slot] += reward[r]
        p = 0
        a_in = 0
        for layer in range(n_layers):
            n_in = sizes[layer]
            n_out = sizes[layer + 1]
            a_out = a_in + n_in
            rule = rules[r, layer]
            eta, keep, beta = rule[ETA], 1.0 - rule[DECAY], rule[BASELINE]
            ds = s_norm[r] - state[r, base + layer]
            state[r, base + layer] += beta * ds
            ret = 0.0
            if done[r]:
                ret = end_of_episode(state, r, layer, base, n_layers, state[r, ret_slot], beta)
            x[6], x[7] = ds, ret
            x[8] = 1.0 if terminal[r] else 0.0
            x[9] = 1.0 if done[r] else 0.0
            for o in range(n_out):
                post = acts[r, a_out + o]
                noise = post - clean[r, a_out + o]
                w = p + o * n_in
                for i in range(n_in):
                    pre = acts[r, a_in + i]
                    delta = state[r, n_s * n_params + w + i]
                    x[0], x[1], x[2] = pre, post, noise * pre
                    x[3], x[4], x[5] = params[r, w + i] / w_max, delta, ret * delta
                    h = state[r, (w + i) * n_s : (w + i + 1) * n_s]
                    dw = eta * cell_step(rule, x, h, g, done[r], n_s)
                    params[r, w + i] = min(max(params[r, w + i] * keep + dw, -w_max), w_max)
            p += n_out * n_in + n_out
            a_in = a_out
        if done[r]:
            state[r, ret_slot] = 0.0
            state[r, ret_slot + 1] += 1.0
