"""Compiled kernels of the `threefactor` family: noisy forward pass and the trace-based update.

The equations, their sources and every parameter are in `genome.rules` (module
docstring). Per row, `state` holds what the rule remembers during a lifetime:

    [0, n_params)             eligibility traces, laid out like `params` (bias slots unused)
    s_bar[l], r_bar[l], r_dev[l]   per layer: baselines of step reward and return, return spread
    episode return, episodes ended in this lifetime

Exploration noise is a counter-based hash of (episode seed, step, neuron), not
a stateful generator: a row's noise does not depend on which other rows share
its batch, so batched and one-at-a-time evaluation agree exactly, and genomes
scored on the same seeds see the same noise (common random numbers).
"""

from __future__ import annotations

import numba
import numpy as np

from envs.kernels import normalised_reward, tanh
from genome.rules import THREEFACTOR

assert THREEFACTOR.names == ("eta", "decay", "noise", "trace", "trace_hebbian", "baseline",
                             "step", "return", "hebbian", "pre", "post", "bias")

RETURN_CLIP = 5.0  # the end-of-episode signal, in units of the lifetime's spread of returns

_jit = numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})


def state_size(n_params: int, n_layers: int) -> int:
    """Length of a row's rule state: traces, three baselines per layer, return, episode count."""
    return n_params + 3 * n_layers + 2


@_jit
def _mix(z):
    """splitmix64's finaliser: a well-spread 64-bit hash (Steele et al. 2014)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@_jit
def gaussian(seed, t, neuron):
    """A standard normal draw keyed by (episode seed, step, neuron): Box-Muller on two hashes."""
    key = _mix(_mix(np.uint64(seed) ^ _mix(np.uint64(t) + np.uint64(0x9E3779B97F4A7C15)))
               + np.uint64(neuron))
    u1 = (float(key >> np.uint64(11)) + 0.5) * 2.0**-53
    u2 = (float(_mix(key) >> np.uint64(11)) + 0.5) * 2.0**-53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@_jit
def noise_block(seeds, t, n):
    """xi of `n` neurons for every row at step `t`: (rows, n); the reference the tests use."""
    out = np.empty((seeds.shape[0], n))
    for r in range(seeds.shape[0]):
        for k in range(n):
            out[r, k] = gaussian(seeds[r], t, k)
    return out


@_jit
def forward_noisy(params, sizes, obs, acts, clean, rules, seeds, t, obs_clip, delta):
    """acts = tanh((W + delta) pre + b + noise xi), clean = the same without xi, every row.

    The noisy activity is what the next layer (and the action) sees; `clean` is
    what the trace compares it with. `delta` (rows, len(params)) perturbs the
    weights for an episode (the `learned` family); with no columns, nothing does.
    """
    perturbed = delta.shape[1] > 0
    n_layers = sizes.shape[0] - 1
    for r in range(params.shape[0]):
        for i in range(sizes[0]):
            acts[r, i] = min(max(obs[r, i], -obs_clip), obs_clip)
        p = 0
        a_in = 0
        for layer in range(n_layers):
            n_in = sizes[layer]
            n_out = sizes[layer + 1]
            b = p + n_out * n_in
            a_out = a_in + n_in
            scale = rules[r, layer, 2]
            for o in range(n_out):
                s = params[r, b + o]
                w = p + o * n_in
                for i in range(n_in):
                    s += params[r, w + i] * acts[r, a_in + i]
                if perturbed:
                    for i in range(n_in):
                        s += delta[r, w + i] * acts[r, a_in + i]
                clean[r, a_out + o] = tanh(s)
                xi = gaussian(seeds[r], t, a_out + o - sizes[0])
                acts[r, a_out + o] = tanh(s + scale * xi)
            p = b + n_out
            a_in = a_out


@_jit
def end_of_episode(state, r, layer, base, n_layers, ret, beta):
    """The return signal of one layer at an episode's end; updates that layer's baselines."""
    r_bar = base + n_layers + layer
    r_dev = base + 2 * n_layers + layer
    if state[r, base + 3 * n_layers + 1] == 0.0:  # the first episode sets the baseline
        state[r, r_bar] = ret
        state[r, r_dev] = max(1.0, 0.5 * abs(ret))
        return 0.0
    delta = ret - state[r, r_bar]
    signal = min(max(delta / state[r, r_dev], -RETURN_CLIP), RETURN_CLIP)
    # At least one unit of reward: a baseline rate of 1 would set the spread to 0 after
    # two equal returns (seen: a division by zero with a random rule).
    state[r, r_dev] = max(1.0, state[r, r_dev] + beta * (abs(delta) - state[r, r_dev]))
    state[r, r_bar] += beta * delta
    return signal


@_jit
def learn_threefactor(params, sizes, acts, clean, rules, state, reward, active, done,
                      mean, var, alpha, clip, w_max):
    """One step of the rule for every running row; `done` rows also take their episode's update.

    Per synapse: e = trace e + (post - clean + H post) pre, then
    W' = W (1 - decay) + eta (m e + A post pre + B pre + C post + D), clipped to +-w_max,
    with m = step (s - s_bar) + return (R - R_bar) / R_dev [only when the episode ended].
    """
    s_norm = normalised_reward(reward, active, mean, var, alpha, clip)
    n_layers = sizes.shape[0] - 1
    base = params.shape[1]
    ret_slot = base + 3 * n_layers
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
            eta, keep, lam, hebb, beta = rule[0], 1.0 - rule[1], rule[3], rule[4], rule[5]
            a, b, c, d = rule[8], rule[9], rule[10], rule[11]
            ds = s_norm[r] - state[r, base + layer]
            state[r, base + layer] += beta * ds
            m = rule[6] * ds
            if done[r]:
                m += rule[7] * end_of_episode(state, r, layer, base, n_layers,
                                               state[r, ret_slot], beta)
            for o in range(n_out):
                post = acts[r, a_out + o]
                dpost = post * (1.0 + hebb) - clean[r, a_out + o]
                w = p + o * n_in
                for i in range(n_in):
                    pre = acts[r, a_in + i]
                    e = lam * state[r, w + i] + dpost * pre
                    state[r, w + i] = e
                    x = params[r, w + i] * keep + eta * (m * e + (a * post + b) * pre
                                                         + c * post + d)
                    params[r, w + i] = min(max(x, -w_max), w_max)
            p += n_out * n_in + n_out
            a_in = a_out
        if done[r]:
            state[r, ret_slot] = 0.0
            state[r, ret_slot + 1] += 1.0
