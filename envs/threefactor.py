"""Compiled kernels of the `threefactor` family: noisy forward pass and the trace-based update.

The equations, their sources and every parameter are in `genome.rules` (module
docstring). Rows innermost, as in `envs.kernels`; `state` (slots, rows) holds what
the rule remembers during a lifetime, one column per row:

    [0, n_params)             eligibility traces, laid out like `params` (bias slots unused)
    s_bar[l], r_bar[l], r_dev[l]   per layer: baselines of step reward and return, return spread
    episode return, episodes ended in this lifetime

The baselines, return and count close every noisy family's state (`learned` and
`recurrent` too), and `reward_signals` keeps them for all three.

Exploration noise is a counter-based hash of (episode seed, step, neuron), not
a stateful generator: a row's noise does not depend on which other rows share
its batch, so batched and one-at-a-time evaluation agree exactly, and genomes
scored on the same seeds see the same noise (common random numbers).
"""

from __future__ import annotations

import numba
import numpy as np

from envs.kernels import OPTIONS, clip_inputs, normalised_reward, tanh
from genome.rules import THREEFACTOR

assert THREEFACTOR.names == ("eta", "decay", "noise", "trace", "trace_hebbian", "baseline",
                             "step", "return", "hebbian", "pre", "post", "bias")

NOISE = 2  # where every noisy family (threefactor, learned, recurrent) keeps its noise scale
RETURN_CLIP = 5.0  # the end-of-episode signal, in units of the lifetime's spread of returns

_jit = numba.njit(**OPTIONS)


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
def forward_noisy(params, layers, obs, acts, clean, rules, seeds, t, obs_clip, delta):
    """acts = tanh((W + delta) pre + b + noise xi), clean = the same without xi, every row.

    The noisy activity is what the next layer (and the action) sees; `clean` is
    what the trace compares it with. `delta` (len(params), rows) perturbs the
    weights for an episode (`learned`, `recurrent`); with no rows of its own, nothing does.
    """
    perturbed = delta.shape[0] > 0
    rows = params.shape[1]
    n_obs = obs.shape[1]
    clip_inputs(obs, acts, obs_clip)
    for layer in range(layers.shape[0]):
        n_in, n_out, w0, b0, a_in, a_out = layers[layer]
        scale = rules[layer, NOISE]
        for o in range(n_out):
            s = clean[a_out + o]  # the pre-activation first, then its tanh
            s[:] = params[b0 + o]
            for i in range(n_in):
                w = params[w0 + o * n_in + i]
                pre = acts[a_in + i]
                if perturbed:
                    dw = delta[w0 + o * n_in + i]
                    for r in range(rows):
                        s[r] += (w[r] + dw[r]) * pre[r]
                else:
                    for r in range(rows):
                        s[r] += w[r] * pre[r]
            out = acts[a_out + o]
            neuron = a_out + o - n_obs
            for r in range(rows):
                out[r] = tanh(s[r] + scale[r] * gaussian(seeds[r], t, neuron))
                s[r] = tanh(s[r])


@_jit
def end_of_episode(state, r, layer, base, n_layers, ret, beta):
    """The return signal of one layer at an episode's end; updates that layer's baselines."""
    r_bar = base + n_layers + layer
    r_dev = base + 2 * n_layers + layer
    if state[base + 3 * n_layers + 1, r] == 0.0:  # the first episode sets the baseline
        state[r_bar, r] = ret
        state[r_dev, r] = max(1.0, 0.5 * abs(ret))
        return 0.0
    delta = ret - state[r_bar, r]
    signal = min(max(delta / state[r_dev, r], -RETURN_CLIP), RETURN_CLIP)
    # At least one unit of reward: a baseline rate of 1 would set the spread to 0 after
    # two equal returns (seen: a division by zero with a random rule).
    state[r_dev, r] = max(1.0, state[r_dev, r] + beta * (abs(delta) - state[r_dev, r]))
    state[r_bar, r] += beta * delta
    return signal


@_jit
def reward_signals(state, rules, beta_at, base, reward, active, done, mean, var, alpha, clip):
    """Per layer and row, the step signal s - s_bar and (as the episode ends) the return
    signal (R - R_bar) / R_dev, (layers, rows) each; 0 for rows that no longer run.

    Updates what every noisy family keeps after its own slots (from `base`): the
    baselines (rate: rule parameter `beta_at`), the episode's return and the count.
    """
    s_norm = normalised_reward(reward, active, mean, var, alpha, clip)
    n_layers, _, rows = rules.shape
    ret_slot = base + 3 * n_layers
    ds = np.zeros((n_layers, rows))
    ret = np.zeros((n_layers, rows))
    for r in range(rows):
        if not active[r]:
            continue
        state[ret_slot, r] += reward[r]
        for layer in range(n_layers):
            beta = rules[layer, beta_at, r]
            ds[layer, r] = s_norm[r] - state[base + layer, r]
            state[base + layer, r] += beta * ds[layer, r]
            if done[r]:
                ret[layer, r] = end_of_episode(state, r, layer, base, n_layers,
                                               state[ret_slot, r], beta)
        if done[r]:
            state[ret_slot, r] = 0.0
            state[ret_slot + 1, r] += 1.0
    return ds, ret


@_jit
def learn_threefactor(params, layers, acts, clean, rules, state, reward, active, done,
                      mean, var, alpha, clip, w_max):
    """One step of the rule for every running row; `done` rows also take their episode's update.

    Per synapse: e = trace e + (post - clean + H post) pre, then
    W' = W (1 - decay) + eta (m e + A post pre + B pre + C post + D), clipped to +-w_max,
    with m = step (s - s_bar) + return (R - R_bar) / R_dev [only when the episode ended].
    A row that no longer runs keeps its weights and traces (eta 0, keep 1, trace 1).
    """
    n_params, rows = params.shape
    ds, ret = reward_signals(state, rules, 5, n_params, reward, active, done, mean, var,
                             alpha, clip)
    coef = np.empty((9, rows))
    eta, keep, lam, m, live, dpost, apb, cpd, hebb = (coef[0], coef[1], coef[2], coef[3],
                                                      coef[4], coef[5], coef[6], coef[7], coef[8])
    for layer in range(layers.shape[0]):
        n_in, n_out, w0, _, a_in, a_out = layers[layer]
        rule = rules[layer]
        for r in range(rows):
            if active[r]:
                eta[r], keep[r], lam[r], live[r] = rule[0, r], 1.0 - rule[1, r], rule[3, r], 1.0
                m[r] = rule[6, r] * ds[layer, r] + rule[7, r] * ret[layer, r]
            else:
                eta[r], keep[r], lam[r], live[r], m[r] = 0.0, 1.0, 1.0, 0.0, 0.0
            hebb[r] = 1.0 + rule[4, r]
        a, b, c, d = rule[8], rule[9], rule[10], rule[11]
        for o in range(n_out):
            post = acts[a_out + o]
            cl = clean[a_out + o]
            for r in range(rows):
                dpost[r] = (post[r] * hebb[r] - cl[r]) * live[r]
                apb[r] = a[r] * post[r] + b[r]
                cpd[r] = c[r] * post[r] + d[r]
            for i in range(n_in):
                pre = acts[a_in + i]
                e = state[w0 + o * n_in + i]
                W = params[w0 + o * n_in + i]
                for r in range(rows):
                    trace = lam[r] * e[r] + dpost[r] * pre[r]
                    e[r] = trace
                    x = W[r] * keep[r] + eta[r] * (m[r] * trace + apb[r] * pre[r] + cpd[r])
                    W[r] = min(max(x, -w_max), w_max)
