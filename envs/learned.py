"""Compiled update of the `learned` family: a tiny rule network evaluated at every synapse.

The equations, their sources and every parameter are in `genome.rules` (module
docstring). The forward pass with exploration noise is threefactor's
(`envs.threefactor.forward_noisy`: noise keyed by episode seed, step and neuron,
so batched and one-at-a-time evaluation agree), with each synapse perturbed
for the episode by `delta`, drawn from the same hash at `begin_episode`. Per
row, `state` holds the noise traces `e_noise` (one slot per genome parameter,
laid out as `params`), the Hebbian traces `e_hebb`, the perturbations
`delta`, then threefactor's baselines, the running return and the episode count.
"""

from __future__ import annotations

import numba
import numpy as np

from envs.kernels import normalised_reward, tanh
from envs.threefactor import end_of_episode, gaussian
from genome.rules import LEARNED, LEARNED_FEATURES, LEARNED_HIDDEN, LEARNED_MODULATORS

N_X, N_H, N_M = len(LEARNED_FEATURES), LEARNED_HIDDEN, len(LEARNED_MODULATORS)
# Offsets of the rule network's weights in a layer's parameters (see genome.rules).
U0 = LEARNED.index("h0.pre")
C0 = LEARNED.index("h0.bias")
V0 = LEARNED.index("always.h0")
S0 = LEARNED.index("always.pre")
O0 = LEARNED.index("always.bias")
assert LEARNED.names[:U0] == ("eta", "decay", "noise", "trace", "fast_trace", "baseline",
                              "jitter", "anneal")
assert (C0, V0, S0, O0) == (U0 + N_H * N_X, U0 + N_H * N_X + N_H,
                            U0 + N_H * N_X + N_H + N_M * N_H,
                            U0 + N_H * N_X + N_H + N_M * N_H + N_M * N_X)
assert LEARNED_MODULATORS == ("always", "step", "return", "terminal")
ALWAYS_SCALE, STEP_SCALE = 0.01, 0.1  # the modulators' units (see genome.rules)

_jit = numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})


DELTA_STEP = 2**62  # the hash's step key of the perturbations: no episode reaches it


def state_size(n_params: int, n_layers: int) -> int:
    """Length of a row's rule state: traces, perturbations, baselines, return, count."""
    return 3 * n_params + 3 * n_layers + 2


def trace_size(n_params: int) -> int:
    """The leading part of the state that restarts with every episode."""
    return 2 * n_params


def delta_slice(n_params: int) -> slice:
    """Where a row's state keeps its synapses' perturbations."""
    return slice(2 * n_params, 3 * n_params)


@_jit
def draw_perturbations(state, n_params, sizes, rules, seeds):
    """delta = jitter_l anneal_l^k xi(episode seed, synapse) for every weight; biases 0.

    k counts the episodes of the row's lifetime so far (kept in `state`).
    """
    n_layers = sizes.shape[0] - 1
    episodes = 3 * n_params + 3 * n_layers + 1
    delta = state[:, 2 * n_params : 3 * n_params]
    for r in range(delta.shape[0]):
        p = 0
        for layer in range(n_layers):
            n_w = sizes[layer] * sizes[layer + 1]
            scale = rules[r, layer, 6] * rules[r, layer, 7] ** state[r, episodes]
            for k in range(n_w):
                delta[r, p + k] = scale * gaussian(seeds[r], DELTA_STEP, p + k)
            for k in range(sizes[layer + 1]):
                delta[r, p + n_w + k] = 0.0
            p += n_w + sizes[layer + 1]


@_jit
def rule_network(rule, x, m, h):
    """m . y of one synapse: y = V tanh(U x + c) + S x + o, one output per modulator."""
    for k in range(N_H):
        a = rule[C0 + k]
        for f in range(N_X):
            a += rule[U0 + k * N_X + f] * x[f]
        h[k] = tanh(a)
    total = 0.0
    for j in range(N_M):
        if m[j] == 0.0:
            continue
        y = rule[O0 + j]
        for f in range(N_X):
            y += rule[S0 + j * N_X + f] * x[f]
        for k in range(N_H):
            y += rule[V0 + j * N_H + k] * h[k]
        total += m[j] * y
    return total


@_jit
def learn_learned(params, sizes, acts, clean, rules, state, reward, active, done, terminal,
                  mean, var, alpha, clip, w_max):
    """One step of the rule for every running row; `done` rows also take their return signal.

    Per synapse: traces first, then W' = W (1 - decay) + eta (m . y), clipped to +-w_max.
    """
    s_norm = normalised_reward(reward, active, mean, var, alpha, clip)
    n_layers = sizes.shape[0] - 1
    n_params = params.shape[1]
    base = 3 * n_params
    ret_slot = base + 3 * n_layers
    x = np.empty(N_X)
    m = np.empty(N_M)
    h = np.empty(N_H)
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
            eta, keep, lam, lam_fast, beta = rule[0], 1.0 - rule[1], rule[3], rule[4], rule[5]
            ds = s_norm[r] - state[r, base + layer]
            state[r, base + layer] += beta * ds
            m[0] = ALWAYS_SCALE
            m[1] = STEP_SCALE * ds
            m[2] = 0.0
            if done[r]:
                m[2] = end_of_episode(state, r, layer, base, n_layers, state[r, ret_slot], beta)
            m[3] = 1.0 if terminal[r] else 0.0
            for o in range(n_out):
                post = acts[r, a_out + o]
                noise = post - clean[r, a_out + o]
                w = p + o * n_in
                for i in range(n_in):
                    pre = acts[r, a_in + i]
                    e_noise = lam * state[r, w + i] + noise * pre
                    e_hebb = lam_fast * state[r, n_params + w + i] + post * pre
                    state[r, w + i] = e_noise
                    state[r, n_params + w + i] = e_hebb
                    x[0], x[1], x[2] = pre, post, noise
                    x[3], x[4], x[5] = params[r, w + i] / w_max, e_noise, e_hebb
                    x[6] = state[r, 2 * n_params + w + i]
                    dw = eta * rule_network(rule, x, m, h)
                    params[r, w + i] = min(max(params[r, w + i] * keep + dw, -w_max), w_max)
            p += n_out * n_in + n_out
            a_in = a_out
        if done[r]:
            state[r, ret_slot] = 0.0
            state[r, ret_slot + 1] += 1.0
