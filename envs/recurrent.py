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
from genome.rules import RECURRENT, RECURRENT_FEATURES, RECURRENT_SCALARS, RECURRENT_STATE

N_S, N_F = RECURRENT_STATE, len(RECURRENT_FEATURES)
ETA, DECAY, NOISE, BASELINE, JITTER, ANNEAL = range(len(RECURRENT_SCALARS))
assert RECURRENT.names[:6] == ("eta", "decay", "noise", "baseline", "jitter", "anneal")
# Offsets of the cell's weights in a layer's parameters (see genome.rules).
AZ = RECURRENT.index("z.h0.pre")
BZ = AZ + N_S * N_F
CZ = BZ + N_S * N_S
AC = CZ + N_S
BC = AC + N_S * N_F
CC = BC + N_S * N_S
V = CC + N_S
U = V + N_S
Q = U + N_S
O = Q + N_F
assert (RECURRENT.names[BZ], RECURRENT.names[AC], RECURRENT.names[V], RECURRENT.names[Q],
        RECURRENT.names[U], RECURRENT.names[O]) == ("z.h0.h0", "c.h0.pre", "v.h0", "q.pre",
                                                    "u.h0", "o")
assert O + 1 == RECURRENT.n_params

_jit = numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})


def state_size(n_params: int, n_layers: int) -> int:
    """Length of a row's rule state: cell states, perturbations, baselines, return, count."""
    return (N_S + 1) * n_params + 3 * n_layers + 2


def delta_slice(n_params: int) -> slice:
    """Where a row's state keeps its synapses' perturbations."""
    return slice(N_S * n_params, (N_S + 1) * n_params)


@_jit
def draw_perturbations(state, n_params, sizes, rules, seeds):
    """delta = jitter_l anneal_l^k xi(episode seed, synapse) for every weight; biases 0."""
    n_layers = sizes.shape[0] - 1
    episodes = (N_S + 1) * n_params + 3 * n_layers + 1
    delta = state[:, N_S * n_params : (N_S + 1) * n_params]
    for r in range(delta.shape[0]):
        p = 0
        for layer in range(n_layers):
            n_w = sizes[layer] * sizes[layer + 1]
            scale = rules[r, layer, JITTER] * rules[r, layer, ANNEAL] ** state[r, episodes]
            for k in range(n_w):
                delta[r, p + k] = scale * gaussian(seeds[r], DELTA_STEP, p + k)
            for k in range(sizes[layer + 1]):
                delta[r, p + n_w + k] = 0.0
            p += n_w + sizes[layer + 1]


@_jit
def cell_step(rule, x, h, g, end):
    """One synapse: h <- (1 - z) h + z c in place; returns v . h + q . x + o (+ u . h at
    an episode's `end`)."""
    for k in range(N_S):
        az = rule[CZ + k]
        ac = rule[CC + k]
        for f in range(N_F):
            az += rule[AZ + k * N_F + f] * x[f]
            ac += rule[AC + k * N_F + f] * x[f]
        for j in range(N_S):
            az += rule[BZ + k * N_S + j] * h[j]
            ac += rule[BC + k * N_S + j] * h[j]
        z = 1.0 / (1.0 + np.exp(-az))
        g[k] = (1.0 - z) * h[k] + z * np.tanh(ac)
    out = rule[O]
    for k in range(N_S):
        h[k] = g[k]
        out += rule[V + k] * h[k]
        if end:
            out += rule[U + k] * h[k]
    for f in range(N_F):
        out += rule[Q + f] * x[f]
    return out


@_jit
def learn_recurrent(params, sizes, acts, clean, rules, state, reward, active, done, terminal,
                    mean, var, alpha, clip, w_max):
    """One step of every synapse's cell for every running row; W' = W (1 - decay) + eta out."""
    s_norm = normalised_reward(reward, active, mean, var, alpha, clip)
    n_layers = sizes.shape[0] - 1
    n_params = params.shape[1]
    base = (N_S + 1) * n_params
    ret_slot = base + 3 * n_layers
    x = np.empty(N_F)
    g = np.empty(N_S)
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
                    delta = state[r, N_S * n_params + w + i]
                    x[0], x[1], x[2] = pre, post, noise * pre
                    x[3], x[4], x[5] = params[r, w + i] / w_max, delta, ret * delta
                    h = state[r, (w + i) * N_S : (w + i + 1) * N_S]
                    dw = eta * cell_step(rule, x, h, g, done[r])
                    params[r, w + i] = min(max(params[r, w + i] * keep + dw, -w_max), w_max)
            p += n_out * n_in + n_out
            a_in = a_out
        if done[r]:
            state[r, ret_slot] = 0.0
            state[r, ret_slot + 1] += 1.0
