"""Compiled update of the `learned` family: a tiny rule network evaluated at every synapse.

The equations, their sources and every parameter are in `genome.rules` (module
docstring). The forward pass with exploration noise is threefactor's
(`envs.threefactor.forward_noisy`: noise keyed by episode seed, step and neuron,
so batched and one-at-a-time evaluation agree), with each synapse perturbed
for the episode by `delta`, drawn from the same hash at `begin_episode`. Rows
innermost, as in `envs.kernels`: `state` (slots, rows) holds the noise traces `e_noise`
(one slot per genome parameter, laid out as `params`), the Hebbian traces `e_hebb`, the
perturbations `delta`, then threefactor's baselines, the running return and the episode
count (`envs.threefactor.reward_signals`).
"""

from __future__ import annotations

import numba
import numpy as np

from envs.kernels import tanh
from envs.threefactor import gaussian, reward_signals
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
assert LEARNED_FEATURES == ("pre", "post", "noise", "weight", "e_noise", "e_hebb", "delta")
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
def draw_perturbations(state, n_params, layers, rules, seeds):
    """delta = jitter_l anneal_l^k xi(episode seed, synapse) for every weight; biases 0.

    k counts the episodes of the row's lifetime so far (kept in `state`).
    """
    episodes = 3 * n_params + 3 * layers.shape[0] + 1
    delta = state[2 * n_params : 3 * n_params]
    for layer in range(layers.shape[0]):
        n_in, n_out, w0, b0, _, _ = layers[layer]
        for r in range(seeds.shape[0]):
            scale = rules[layer, 6, r] * rules[layer, 7, r] ** state[episodes, r]
            for k in range(w0, b0):
                delta[k, r] = scale * gaussian(seeds[r], DELTA_STEP, k)
        delta[b0 : b0 + n_out] = 0.0


@_jit
def learn_learned(params, layers, acts, clean, rules, state, reward, active, done, terminal,
                  mean, var, alpha, clip, w_max):
    """One step of the rule for every running row; `done` rows also take their return signal.

    Per synapse: traces first, then W' = W (1 - decay) + eta (m . y), clipped to +-w_max,
    where m . y = m . (V h + S x + o) = (m V) h + (m S) x + m . o: the modulators are one
    per layer and row, so their mix of V, S and o is formed once, not at every synapse.
    A row that no longer runs keeps its weights and traces (eta 0, keep 1, traces 1).
    """
    n_params, rows = params.shape
    ds, ret = reward_signals(state, rules, 5, 3 * n_params, reward, active, done, mean, var,
                             alpha, clip)
    coef = np.empty((5, rows))
    eta, keep, lam, lam_fast, live = coef[0], coef[1], coef[2], coef[3], coef[4]
    mixed = np.empty((1 + N_X + N_H, rows))  # m . o, then m S per feature, m V per hidden unit
    per_output = np.empty((3, rows))
    noise, noise_live, post_live = per_output[0], per_output[1], per_output[2]
    for layer in range(layers.shape[0]):
        n_in, n_out, w0, _, a_in, a_out = layers[layer]
        rule = rules[layer]
        for r in range(rows):
            if active[r]:
                eta[r], keep[r], lam[r], lam_fast[r] = (rule[0, r], 1.0 - rule[1, r],
                                                        rule[3, r], rule[4, r])
                live[r] = 1.0
            else:
                eta[r], keep[r], lam[r], lam_fast[r], live[r] = 0.0, 1.0, 1.0, 1.0, 0.0
            m0, m1 = ALWAYS_SCALE, STEP_SCALE * ds[layer, r]
            m2, m3 = ret[layer, r], 1.0 if terminal[r] else 0.0
            mixed[0, r] = (m0 * rule[O0, r] + m1 * rule[O0 + 1, r] + m2 * rule[O0 + 2, r]
                           + m3 * rule[O0 + 3, r])
            for f in range(N_X):
                mixed[1 + f, r] = (m0 * rule[S0 + f, r] + m1 * rule[S0 + N_X + f, r]
                                   + m2 * rule[S0 + 2 * N_X + f, r]
                                   + m3 * rule[S0 + 3 * N_X + f, r])
            for k in range(N_H):
                mixed[1 + N_X + k, r] = (m0 * rule[V0 + k, r] + m1 * rule[V0 + N_H + k, r]
                                         + m2 * rule[V0 + 2 * N_H + k, r]
                                         + m3 * rule[V0 + 3 * N_H + k, r])
        for o in range(n_out):
            post = acts[a_out + o]
            cl = clean[a_out + o]
            for r in range(rows):
                noise[r] = post[r] - cl[r]
                noise_live[r] = noise[r] * live[r]
                post_live[r] = post[r] * live[r]
            for i in range(n_in):
                k = w0 + o * n_in + i
                pre = acts[a_in + i]
                W, e_noise, e_hebb = params[k], state[k], state[n_params + k]
                delta = state[2 * n_params + k]
                for r in range(rows):
                    e_n = lam[r] * e_noise[r] + noise_live[r] * pre[r]
                    e_h = lam_fast[r] * e_hebb[r] + post_live[r] * pre[r]
                    e_noise[r], e_hebb[r] = e_n, e_h
                    # the features, in LEARNED_FEATURES' order
                    x0, x1, x2, x3 = pre[r], post[r], noise[r], W[r] / w_max
                    x4, x5, x6 = e_n, e_h, delta[r]
                    y = (mixed[0, r] + mixed[1, r] * x0 + mixed[2, r] * x1 + mixed[3, r] * x2
                         + mixed[4, r] * x3 + mixed[5, r] * x4 + mixed[6, r] * x5
                         + mixed[7, r] * x6)
                    for h in range(N_H):
                        u = U0 + h * N_X
                        a = (rule[C0 + h, r] + rule[u, r] * x0 + rule[u + 1, r] * x1
                             + rule[u + 2, r] * x2 + rule[u + 3, r] * x3 + rule[u + 4, r] * x4
                             + rule[u + 5, r] * x5 + rule[u + 6, r] * x6)
                        y += mixed[1 + N_X + h, r] * tanh(a)
                    W[r] = min(max(W[r] * keep[r] + eta[r] * y, -w_max), w_max)
