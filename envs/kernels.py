"""Compiled per-step kernels of the plastic network: one call acts, one call learns.

A step of a batch of small networks is a few thousand multiply-adds; in numpy
it costs ~50 array calls whose fixed overhead, not arithmetic, dominates
(about 80 us per step for one LunarLander network against 37 us for the
simulator). These numba kernels loop over rows, layers and synapses in one call.

Layout, rows innermost (every family's kernels, here and in `envs.threefactor`,
`envs.learned`, `envs.recurrent`): `params` (n_weights, rows) holds the layers as in a
genome, `[W0 (out x in), b0, W1, b1, ...]`, one row per column; `acts` (units, rows) every
layer's activations, input first; `rules` (layers, n_params, rows) in natural units; a
rule's `state` (slots, rows). Every multiply-add then runs across rows in SIMD.
Where each layer's weights and activations sit is `layer_table`'s, computed once per spec.
"""

from __future__ import annotations

import numba
import numpy as np

from genome.rules import HEBBIAN, OJA

# The kernels read rule parameters by position; fail at import if a family is reordered.
assert HEBBIAN.names == ("eta", "decay", "hebbian", "pre", "post", "bias", "modulation")
assert OJA.names == ("eta", "decay", "hebbian", "modulation")

# Every kernel of every family compiles with these options. error_model "numpy": a float
# division gives inf or nan instead of raising, so it has no branch, and the compiler runs
# loops that divide (every tanh below) across rows in SIMD; with Python's error model it
# left each such loop scalar. The kernels divide only by numbers kept away from zero.
OPTIONS = dict(cache=True, nogil=True, fastmath={"reassoc", "contract"}, error_model="numpy")
_jit = numba.njit(**OPTIONS)

N_IN, N_OUT, W0, B0, A_IN, A_OUT = range(6)  # the columns of `layer_table`


def layer_table(sizes) -> np.ndarray:
    """Per layer: inputs, outputs, where its W and b start in `params`, where its input
    and output start in `acts` ((layers, 6) int64; every kernel walks layers through it)."""
    rows, w, a = [], 0, 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        rows.append((n_in, n_out, w, w + n_out * n_in, a, a + n_in))
        w += n_out * n_in + n_out
        a += n_in
    return np.array(rows, dtype=np.int64).reshape(-1, 6)


TANH_CLAMP = 7.90531110763549805  # past it the rational form below is 1 in float32


@numba.njit(**OPTIONS, inline="always")
def tanh(x):
    """tanh to float32 precision (error below 3e-7), 5 ns against libm's 20-35 ns.

    A network step is mostly tanh calls once the environment is cheap; observations and
    envpool's arithmetic are float32, so float64's last digits of tanh bought nothing.
    The rational approximation x P(x^2) / Q(x^2) of Eigen's `generic_fast_tanh_float`
    (coefficients from there).
    """
    x = min(max(x, -TANH_CLAMP), TANH_CLAMP)
    x2 = x * x
    p = -2.76076847742355e-16
    p = p * x2 + 2.00018790482477e-13
    p = p * x2 - 8.60467152213735e-11
    p = p * x2 + 5.12229709037114e-08
    p = p * x2 + 1.48572235717979e-05
    p = p * x2 + 6.37261928875436e-04
    p = p * x2 + 4.89352455891786e-03
    q = 1.19825839466702e-06
    q = q * x2 + 1.18534705686654e-04
    q = q * x2 + 2.26843463243900e-03
    q = q * x2 + 4.89352518554385e-03
    return x * p / q


@_jit
def clip_inputs(obs, acts, obs_clip):
    """acts[input i, row r] = obs[r, i], clipped to +-obs_clip."""
    for i in range(obs.shape[1]):
        for r in range(obs.shape[0]):
            acts[i, r] = min(max(obs[r, i], -obs_clip), obs_clip)


@_jit
def forward(params, layers, obs, acts, obs_clip):
    """acts[layer l] = tanh(W_l acts[layer l-1] + b_l) for every row; input clipped.

    Rows innermost (`params` is (n_weights, rows), `acts` (units, rows)): every
    multiply-add and tanh runs across rows in SIMD, 3.5x the speed of a loop over one
    small network per row (55 against 194 ns per row for an 8-16-4 network).
    """
    rows = params.shape[1]
    clip_inputs(obs, acts, obs_clip)
    for layer in range(layers.shape[0]):
        n_in, n_out, w0, b0, a_in, a_out = layers[layer]
        for o in range(n_out):
            out = acts[a_out + o]
            out[:] = params[b0 + o]
            for i in range(n_in):
                w = params[w0 + o * n_in + i]
                pre = acts[a_in + i]
                for r in range(rows):
                    out[r] += w[r] * pre[r]
            for r in range(rows):
                out[r] = tanh(out[r])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def bounded_actions(acts, first, low, span):
    """Continuous actions, (rows, n): output unit `first + j` of each row mapped from
    [-1, 1] onto [low_j, low_j + span_j] as `low + (x + 1) * 0.5 * span`, in numpy's order
    of operations and without fastmath (no fused multiply-add), so bit for bit numpy's.
    One call where numpy took four on arrays of a few rows (2 us of a BipedalWalker step)."""
    rows = acts.shape[1]
    out = np.empty((rows, low.shape[0]))
    for r in range(rows):
        for j in range(low.shape[0]):
            out[r, j] = low[j] + (acts[first + j, r] + 1.0) * 0.5 * span[j]
    return out


@_jit
def normalised_reward(reward, active, mean, var, alpha, clip):
    """r_t per row: standardised by running mean and variance, clipped; stats updated in place."""
    out = np.empty_like(reward)
    for r in range(reward.shape[0]):
        delta = reward[r] - mean[r]
        out[r] = min(max(delta / np.sqrt(var[r] + 1e-8), -clip), clip)
        if active[r]:
            mean[r] += alpha * delta
            var[r] += alpha * (delta * delta - var[r])
    return out


HEBBIAN_CODE, OJA_CODE = 0, 1
FAMILY_CODES = {HEBBIAN.name: HEBBIAN_CODE, OJA.name: OJA_CODE}  # threefactor: envs.threefactor


@_jit
def learn(params, layers, acts, rules, reward, active, mean, var, alpha, clip, w_max, family):
    """One rule step for every running row and layer, weights clipped to +-w_max.

    hebbian: dW = eta (A post x pre + B pre + C post + D)(1 + M r) - decay W
    oja:     dW = eta A post (pre - post W)(1 + M r) - decay W
    Both are W' = W keep + s_post (a pre + c) + step (b pre + d) with per-layer
    coefficients: Oja's is the Hebbian form with a = 1, b = c = d = 0, its gain
    eta A (1 + M r) as the step, and -s_post post in `keep`, which normalises.
    Rows innermost as in `forward` (`rules` is (layers, n_params, rows)); a row whose
    episode has ended keeps its weights (step 0, keep 1: W' = W).
    """
    r_norm = normalised_reward(reward, active, mean, var, alpha, clip)
    rows = params.shape[1]
    coef = np.empty((9, rows))  # per row: this layer's coefficients, then per output
    step, decay, a, b, c, d, oja, s_post, keep = (coef[0], coef[1], coef[2], coef[3], coef[4],
                                                 coef[5], coef[6], coef[7], coef[8])
    for layer in range(layers.shape[0]):
        n_in, n_out, w0, _, a_in, a_out = layers[layer]
        rule = rules[layer]
        for r in range(rows):
            if not active[r]:  # an ended episode teaches nothing more
                step[r], decay[r], a[r], b[r], c[r], d[r], oja[r] = (
                    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
            elif family == HEBBIAN_CODE:
                step[r] = rule[0, r] * (1.0 + rule[6, r] * r_norm[r])
                decay[r], a[r], b[r], c[r], d[r], oja[r] = (
                    rule[1, r], rule[2, r], rule[3, r], rule[4, r], rule[5, r], 0.0)
            else:
                step[r] = rule[0, r] * rule[2, r] * (1.0 + rule[3, r] * r_norm[r])
                decay[r], a[r], b[r], c[r], d[r], oja[r] = rule[1, r], 1.0, 0.0, 0.0, 0.0, 1.0
        for o in range(n_out):
            post = acts[a_out + o]
            for r in range(rows):
                s_post[r] = step[r] * post[r]
                keep[r] = (1.0 - decay[r]) - oja[r] * s_post[r] * post[r]
            for i in range(n_in):
                pre = acts[a_in + i]
                W = params[w0 + o * n_in + i]
                for r in range(rows):
                    x = W[r] * keep[r] + (s_post[r] * (a[r] * pre[r] + c[r])
                                          + step[r] * (b[r] * pre[r] + d[r]))
                    W[r] = min(max(x, -w_max), w_max)
