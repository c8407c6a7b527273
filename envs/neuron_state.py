"""Compiled update of the `neuron-state` family: a gated recurrent cell in every neuron.

The equations, their sources and every parameter are in `genome.rules` (module
docstring). The noisy forward pass is threefactor's (`envs.threefactor.forward_noisy`),
each synapse perturbed for the episode by `delta`. Rows innermost, as in `envs.kernels`:
`state` (slots, rows) holds, one column per row:

    [0, S n_units)                 every unit's state h, unit-major (slot u S + k for unit u
                                   of the activations; the observations' slots stay 0)
    [S n_units, S n_units + n_params)  the episode's perturbations delta, laid out like `params`
    s_bar[l], r_bar[l], r_dev[l]   per layer, as in threefactor
    episode return, episodes ended in this lifetime

A synapse keeps no state of its own: its read-out coefficients are its two neurons'
(q_f + v_f . h_post + w_f . h_pre), computed once per neuron, so a step costs a few
products per synapse. Nothing restarts with an episode but delta.
"""

from __future__ import annotations

import numba
import numpy as np

from envs.kernels import OPTIONS
from envs.learned import DELTA_STEP
from envs.recurrent import add_recurrence, cell_offsets, gate_cell
from envs.threefactor import NOISE as _NOISE
from envs.threefactor import gaussian, reward_signals
from genome.rules import (
    NEURON_FEATURES,
    NEURON_STATE_FAMILIES,
    RECURRENT_SCALARS,
    SYNAPSE_FEATURES,
)

N_F = len(NEURON_FEATURES)
N_Y = len(SYNAPSE_FEATURES)
ETA, DECAY, NOISE, BASELINE, JITTER, ANNEAL = range(len(RECURRENT_SCALARS))
AZ = len(RECURRENT_SCALARS)  # the cell's weights follow the scalars (see genome.rules)
assert NOISE == _NOISE  # the noisy forward pass reads it there
# The cell's inputs: two per neuron, then four per layer and row (folded into the biases).
assert NEURON_FEATURES == ("act", "noise", "step", "return", "terminal", "end")
assert SYNAPSE_FEATURES == ("pre", "post", "noise_pre", "weight", "delta", "return_delta",
                            "bias")

_jit = numba.njit(**OPTIONS)


@_jit
def offsets(n_s):
    """Where Bz, bz, Ac, Bc, bc, q, v, w, p_post, p_pre, p_bias start in a layer's
    parameters, for state n_s (Az starts at AZ)."""
    bz, cz, ac, bc, cc, q = cell_offsets(AZ, N_F, n_s)
    v = q + N_Y
    w = v + N_Y * n_s
    p_post = w + N_Y * n_s
    p_pre = p_post + n_s
    return bz, cz, ac, bc, cc, q, v, w, p_post, p_pre, p_pre + n_s


for _n_s, _family in NEURON_STATE_FAMILIES.items():  # fail at import if the layout drifts
    _at = dict(zip(("z.h0.h0", "z.h0.bias", "c.h0.act", "c.h0.h0", "c.h0.bias", "q.pre",
                    "v.pre.h0", "w.pre.h0", "p.post.h0", "p.pre.h0", "p.bias"),
                   offsets(_n_s), strict=True))
    assert all(_family.names[k] == name for name, k in _at.items())
    assert _at["p.bias"] + 1 == _family.n_params


def state_size(n_params: int, n_layers: int, n_units: int, n_s: int) -> int:
    """Length of a row's rule state: neuron states, perturbations, baselines, return, count."""
    return n_s * n_units + n_params + 3 * n_layers + 2


def delta_slice(n_params: int, n_units: int, n_s: int) -> slice:
    """Where a row's state keeps its synapses' perturbations."""
    return slice(n_s * n_units, n_s * n_units + n_params)


@_jit
def draw_perturbations(state, n_params, layers, rules, seeds, n_s, n_units):
    """delta = jitter_l anneal_l^k 2 sigmoid(p_post . h_o + p_pre . h_i + p_bias) zeta_k for
    every weight i -> o, zeta_k = xi(episode seed, synapse) as in `recurrent`; biases 0."""
    d0 = n_s * n_units
    episodes = d0 + n_params + 3 * layers.shape[0] + 1
    _, _, _, _, _, _, _, _, p_post, p_pre, p_bias = offsets(n_s)
    gate_in = np.empty(n_units)
    for layer in range(layers.shape[0]):
        n_in, n_out, w0, b0, a_in, a_out = layers[layer]
        rule = rules[layer]
        for r in range(seeds.shape[0]):
            scale = rule[JITTER, r] * rule[ANNEAL, r] ** state[episodes, r]
            for i in range(n_in):
                a = 0.0
                for k in range(n_s):
                    a += rule[p_pre + k, r] * state[(a_in + i) * n_s + k, r]
                gate_in[i] = a
            for o in range(n_out):
                a_o = rule[p_bias, r]
                for k in range(n_s):
                    a_o += rule[p_post + k, r] * state[(a_out + o) * n_s + k, r]
                for i in range(n_in):
                    w = w0 + o * n_in + i
                    g = 2.0 / (1.0 + np.exp(-(a_o + gate_in[i])))
                    state[d0 + w, r] = g * scale * gaussian(seeds[r], DELTA_STEP, w)
            for o in range(n_out):
                state[d0 + b0 + o, r] = 0.0


@_jit
def update_neurons(acts, clean, rules, state, layers, active, done, terminal, ds, ret, n_s):
    """One step of every neuron's cell (the neurons each layer feeds, with its layer's cell):
    z = sigmoid(Az x + Bz h + bz), h <- (1 - z) h + z tanh(Ac x + Bc h + bc). A row that no
    longer runs keeps its states (z 0)."""
    rows = acts.shape[1]
    bz, cz, ac, bc, cc = offsets(n_s)[:5]
    live = np.empty(rows)
    z_bias, c_bias = np.empty((n_s, rows)), np.empty((n_s, rows))
    a_z, a_c = np.empty((n_s, rows)), np.empty((n_s, rows))
    noise = np.empty(rows)
    for layer in range(layers.shape[0]):
        n_in, n_out, w0, _, a_in, a_out = layers[layer]
        rule = rules[layer]
        for r in range(rows):
            live[r] = 1.0 if active[r] else 0.0
            x2, x3 = ds[layer, r], ret[layer, r]
            x4, x5 = (1.0 if terminal[r] else 0.0), (1.0 if done[r] else 0.0)
            for k in range(n_s):
                z, c = AZ + k * N_F, ac + k * N_F
                z_bias[k, r] = (rule[cz + k, r] + rule[z + 2, r] * x2 + rule[z + 3, r] * x3
                                + rule[z + 4, r] * x4 + rule[z + 5, r] * x5)
                c_bias[k, r] = (rule[cc + k, r] + rule[c + 2, r] * x2 + rule[c + 3, r] * x3
                                + rule[c + 4, r] * x4 + rule[c + 5, r] * x5)
        for o in range(n_out):
            unit = a_out + o
            act, cl = acts[unit], clean[unit]
            for r in range(rows):
                noise[r] = act[r] - cl[r]
            for k in range(n_s):  # the gates' inputs, from the states as they were
                z, c = AZ + k * N_F, ac + k * N_F
                for r in range(rows):
                    a_z[k, r] = z_bias[k, r] + rule[z, r] * act[r] + rule[z + 1, r] * noise[r]
                    a_c[k, r] = c_bias[k, r] + rule[c, r] * act[r] + rule[c + 1, r] * noise[r]
            add_recurrence(a_z, a_c, rule, bz, bc, state, unit, n_s)
            gate_cell(a_z, a_c, state, unit, n_s, live)


@_jit
def learn_neuron_state(params, layers, acts, clean, rules, state, reward, active, done,
                       terminal, mean, var, alpha, clip, w_max, n_s, n_units):
    """One step of every neuron's cell, then of every synapse's read-out, for every running
    row: W' = W (1 - decay) + eta sum_f (q_f + v_f . h_post + w_f . h_pre) y_f."""
    n_params, rows = params.shape
    d0 = n_s * n_units
    ds, ret = reward_signals(state, rules, BASELINE, d0 + n_params, reward, active, done, mean,
                             var, alpha, clip)
    update_neurons(acts, clean, rules, state, layers, active, done, terminal, ds, ret, n_s)
    q, v, wr = offsets(n_s)[5:8]
    eta, keep = np.empty(rows), np.empty(rows)
    post_c = np.empty((N_Y, rows))
    noise = np.empty(rows)
    for layer in range(layers.shape[0]):
        n_in, n_out, w0, _, a_in, a_out = layers[layer]
        rule = rules[layer]
        for r in range(rows):
            eta[r], keep[r] = ((rule[ETA, r], 1.0 - rule[DECAY, r]) if active[r]
                               else (0.0, 1.0))
        pre_c = np.zeros((n_in, N_Y, rows))  # w_f . h_pre, per input unit
        for i in range(n_in):
            for f in range(N_Y):
                for k in range(n_s):
                    h = state[(a_in + i) * n_s + k]
                    wk = rule[wr + f * n_s + k]
                    for r in range(rows):
                        pre_c[i, f, r] += wk[r] * h[r]
        for o in range(n_out):
            unit = a_out + o
            post, cl = acts[unit], clean[unit]
            for r in range(rows):
                noise[r] = post[r] - cl[r]
            for f in range(N_Y):  # q_f + v_f . h_post
                for r in range(rows):
                    post_c[f, r] = rule[q + f, r]
                for k in range(n_s):
                    h = state[unit * n_s + k]
                    vk = rule[v + f * n_s + k]
                    for r in range(rows):
                        post_c[f, r] += vk[r] * h[r]
            for i in range(n_in):
                w = w0 + o * n_in + i
                pre, W, delta, c = acts[a_in + i], params[w], state[d0 + w], pre_c[i]
                for r in range(rows):
                    out = ((post_c[0, r] + c[0, r]) * pre[r]
                           + (post_c[1, r] + c[1, r]) * post[r]
                           + (post_c[2, r] + c[2, r]) * noise[r] * pre[r]
                           + (post_c[3, r] + c[3, r]) * W[r] / w_max
                           + (post_c[4, r] + c[4, r]) * delta[r]
                           + (post_c[5, r] + c[5, r]) * ret[layer, r] * delta[r]
                           + (post_c[6, r] + c[6, r]))
                    W[r] = min(max(W[r] * keep[r] + eta[r] * out, -w_max), w_max)
