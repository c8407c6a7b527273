"""Compiled update of the `contingency` family: each synapse learns what its neuron's noise
did to its input.

The equations and parameters are in `genome.rules` (module docstring). The forward pass
is threefactor's (`envs.threefactor.forward_noisy`: noise keyed by episode seed, step and
neuron). Rows innermost, as in `envs.kernels`: `state` (slots, rows) holds, per unit of
the network (inputs, hidden, outputs, in the order of `acts`),

    [0, n_units)            e: the trace of what the unit's noise changed (inputs unused)
    [n_units, 2 n_units)    the unit's activity at the previous step
    2 n_units               1 once a previous step of this episode is remembered

so the whole state is O(units), not O(synapses), and restarts with every episode.
"""

from __future__ import annotations

import numba
import numpy as np

from envs.kernels import OPTIONS
from genome.rules import CONTINGENCY

assert CONTINGENCY.names == ("eta", "decay", "noise", "trace", "gain")

_jit = numba.njit(**OPTIONS)


def state_size(n_units: int) -> int:
    """Length of a row's rule state: a trace and a previous activity per unit, and a flag."""
    return 2 * n_units + 1


@_jit
def noise_effects(layers, acts, clean, layer, discrete, out):
    """What the noise changed at each of `layer`'s units, (units, rows) into `out`.

    post - clean for every unit, except the output layer of a discrete-action network, whose
    effect is on the action: +1 at the action taken, -1 at the one the clean network would
    have taken (both 0 when the noise changed nothing).
    """
    n_out, a_out = layers[layer, 1], layers[layer, 5]
    rows = acts.shape[1]
    if discrete and layer == layers.shape[0] - 1:
        for r in range(rows):
            taken, wanted = 0, 0
            for o in range(1, n_out):
                if acts[a_out + o, r] > acts[a_out + taken, r]:
                    taken = o
                if clean[a_out + o, r] > clean[a_out + wanted, r]:
                    wanted = o
            for o in range(n_out):
                out[o, r] = (o == taken) - (o == wanted)
    else:
        for o in range(n_out):
            for r in range(rows):
                out[o, r] = acts[a_out + o, r] - clean[a_out + o, r]


@_jit
def learn_contingency(params, layers, acts, clean, rules, state, active, w_max, discrete):
    """One step of the rule for every running row (`active`); ended rows keep everything.

    Per synapse i -> o of layer l, with pre_t the input's activity now and pre_{t-1} at the
    previous step of the episode:

        W' = W (1 - decay_l) + eta_l gain_l e_o (pre_t - pre_{t-1})   (the second term from
             the episode's second step on), clipped to +-w_max
        e_o' = trace_l e_o + noise effect_o(t)

    so W_oi tends to gain times how much unit o's noise moved input i.
    """
    n_units, rows = acts.shape
    flag = 2 * n_units
    effect = np.empty((int(layers[:, 1].max()), rows))
    keep, step, lam = np.empty(rows), np.empty(rows), np.empty(rows)
    for layer in range(layers.shape[0]):
        n_in, n_out, w0, _, a_in, a_out = layers[layer]
        rule = rules[layer]
        noise_effects(layers, acts, clean, layer, discrete, effect)
        for r in range(rows):
            if active[r]:
                keep[r], lam[r] = 1.0 - rule[1, r], rule[3, r]
            else:
                keep[r], lam[r] = 1.0, 1.0
                effect[:n_out, r] = 0.0
        for o in range(n_out):
            e = state[a_out + o]
            for r in range(rows):
                live = active[r] and state[flag, r] > 0.0
                step[r] = rule[0, r] * rule[4, r] * e[r] if live else 0.0
            for i in range(n_in):
                W = params[w0 + o * n_in + i]
                now = acts[a_in + i]
                before = state[n_units + a_in + i]
                for r in range(rows):
                    w = W[r] * keep[r] + step[r] * (now[r] - before[r])
                    W[r] = min(max(w, -w_max), w_max)
            for r in range(rows):
                e[r] = lam[r] * e[r] + effect[o, r]
    for u in range(n_units):
        for r in range(rows):
            if active[r]:
                state[n_units + u, r] = acts[u, r]
    for r in range(rows):
        if active[r]:
            state[flag, r] = 1.0
