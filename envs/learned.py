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

from envs.kernels import OPTIONS, tanh
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

_jit = numba.njit(**OPTIONS)


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
    # One scratch array for every per-row number: the compiler then checks few pairs of
    # arrays for overlap and runs the synapse loops across rows in SIMD (with a scratch
    # array per number, it found too many pairs to check and left them scalar).
    scratch = np.empty((8 + 1 + N_X + N_H, rows))
    ETA_, KEEP, LAM, LAM_FAST, LIVE, NOISE_, NOISE_LIVE, POST_LIVE = range(8)
    MIXED = 8  # m . o, then m S per feature, m V per hidden unit
    y = np.empty(rows)
    for layer in range(layers.shape[0]):
        n_in, n_out, w0, _, a_in, a_out = layers[layer]
        for r in range(rows):
            if active[r]:
                scratch[ETA_, r] = rules[layer, 0, r]
                scratch[KEEP, r] = 1.0 - rules[layer, 1, r]
                scratch[LAM, r], scratch[LAM_FAST, r] = rules[layer, 3, r], rules[layer, 4, r]
                scratch[LIVE, r] = 1.0
            else:
                scratch[ETA_, r], scratch[KEEP, r], scratch[LIVE, r] = 0.0, 1.0, 0.0
                scratch[LAM, r], scratch[LAM_FAST, r] = 1.0, 1.0
            m0, m1 = ALWAYS_SCALE, STEP_SCALE * ds[layer, r]
            m2, m3 = ret[layer, r], 1.0 if terminal[r] else 0.0
            for j in range(1 + N_X + N_H):  # o, S's columns, V's columns, each by modulator
                at, stride = ((O0, 1) if j == 0 else (S0 + j - 1, N_X) if j <= N_X
                              else (V0 + j - 1 - N_X, N_H))
                scratch[MIXED + j, r] = (m0 * rules[layer, at, r]
                                         + m1 * rules[layer, at + stride, r]
                                         + m2 * rules[layer, at + 2 * stride, r]
                                         + m3 * rules[layer, at + 3 * stride, r])
        for o in range(n_out):
            for r in range(rows):
                noise = acts[a_out + o, r] - clean[a_out + o, r]
                scratch[NOISE_, r] = noise
                scratch[NOISE_LIVE, r] = noise * scratch[LIVE, r]
                scratch[POST_LIVE, r] = acts[a_out + o, r] * scratch[LIVE, r]
            for i in range(n_in):
                k = w0 + o * n_in + i
                for r in range(rows):  # traces first: the rule reads them updated
                    pre = acts[a_in + i, r]
                    state[k, r] = scratch[LAM, r] * state[k, r] + scratch[NOISE_LIVE, r] * pre
                    state[n_params + k, r] = (scratch[LAM_FAST, r] * state[n_params + k, r]
                                              + scratch[POST_LIVE, r] * pre)
                for r in range(rows):
                    # the features, in LEARNED_FEATURES' order
                    x0, x1, x2 = acts[a_in + i, r], acts[a_out + o, r], scratch[NOISE_, r]
                    x3, x4, x5 = params[k, r] / w_max, state[k, r], state[n_params + k, r]
                    x6 = state[2 * n_params + k, r]
                    total = (scratch[MIXED, r] + scratch[MIXED + 1, r] * x0
                             + scratch[MIXED + 2, r] * x1 + scratch[MIXED + 3, r] * x2
                             + scratch[MIXED + 4, r] * x3 + scratch[MIXED + 5, r] * x4
                             + scratch[MIXED + 6, r] * x5 + scratch[MIXED + 7, r] * x6)
                    for h in range(N_H):
                        u = U0 + h * N_X
                        a = (rules[layer, C0 + h, r] + rules[layer, u, r] * x0
                             + rules[layer, u + 1, r] * x1 + rules[layer, u + 2, r] * x2
                             + rules[layer, u + 3, r] * x3 + rules[layer, u + 4, r] * x4
                             + rules[layer, u + 5, r] * x5 + rules[layer, u + 6, r] * x6)
                        total += scratch[MIXED + 1 + N_X + h, r] * tanh(a)
                    y[r] = total
                for r in range(rows):
                    x = params[k, r] * scratch[KEEP, r] + scratch[ETA_, r] * y[r]
                    params[k, r] = min(max(x, -w_max), w_max)
