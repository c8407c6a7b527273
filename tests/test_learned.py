"""The `learned` rule family: a rule network per layer, its equations, and that it learns."""

import re

import numpy as np

from envs import EvalSettings, Evaluator
from genome import GenomeSpec, initial_vector
from genome.layout import batch_rules, batch_weights
from genome.rules import LEARNED, LEARNED_FEATURES, LEARNED_HIDDEN, LEARNED_MODULATORS
from tests import scripted_lifetime


def _rule(**values) -> np.ndarray:
    """One layer's rule in search space from natural values (`a__b` names `a.b`)."""
    values = {k.replace("__", "."): v for k, v in values.items()}
    return np.array([p.to_search(values.get(p.name, p.initial)) for p in LEARNED.params])


def _network_weights(rule: np.ndarray) -> tuple[np.ndarray, ...]:
    """U, c, V, S, o of one layer's rule (natural units), by name."""
    named = dict(zip(LEARNED.names, rule, strict=True))
    hidden = [f"h{k}" for k in range(LEARNED_HIDDEN)]
    U = np.array([[named[f"{h}.{x}"] for x in LEARNED_FEATURES] for h in hidden])
    c = np.array([named[f"{h}.bias"] for h in hidden])
    V = np.array([[named[f"{m}.{h}"] for h in hidden] for m in LEARNED_MODULATORS])
    S = np.array([[named[f"{m}.{x}"] for x in LEARNED_FEATURES] for m in LEARNED_MODULATORS])
    o = np.array([named[f"{m}.bias"] for m in LEARNED_MODULATORS])
    return U, c, V, S, o


def _reference(spec, x, episodes, w_max=5.0):
    """The equations of genome/rules.py for one genome, written out plainly in numpy.

    `episodes`: (seed, observations, rewards, terminal); each episode ends after its
    last step, in a terminal state when `terminal`.
    """
    layers = [(W[0].clip(-w_max, w_max), b[0].copy()) for W, b in batch_weights(spec, x)]
    rules = batch_rules(spec, x)[0]
    signals = scripted_lifetime.RewardSignals(spec.n_layers)
    ended = 0
    for seed, observations, rewards, terminal in episodes:
        e_noise = [np.zeros_like(W) for W, _ in layers]
        e_hebb = [np.zeros_like(W) for W, _ in layers]
        deltas = [rule[6] * rule[7] ** ended * zeta  # jitter anneal^k zeta
                  for rule, zeta in zip(rules, scripted_lifetime.draws(layers, seed), strict=True)]
        for acts, cleans, done in scripted_lifetime.episode_steps(
                spec, layers, deltas, rules[:, 2], seed, observations, rewards, signals):
            for layer, (W, _) in enumerate(layers):
                eta, decay, _, lam, lam_fast, beta = rules[layer][:6]
                U, c, V, S, o = _network_weights(rules[layer])
                ds, ret_signal = signals.layer(layer, beta, done, ended == 0)
                m = np.array([0.01, 0.1 * ds, ret_signal, float(done and terminal)])
                pre, post, clean = acts[layer], acts[layer + 1], cleans[layer + 1]
                e_noise[layer] = lam * e_noise[layer] + np.outer(post - clean, pre)
                e_hebb[layer] = lam_fast * e_hebb[layer] + np.outer(post, pre)
                features = np.stack(np.broadcast_arrays(
                    pre[None, :], post[:, None], (post - clean)[:, None], W / w_max,
                    e_noise[layer], e_hebb[layer], deltas[layer]), axis=-1)  # (out, in, 7)
                y = np.tanh(features @ U.T + c) @ V.T + features @ S.T + o  # (out, in, 4)
                W[:] = np.clip(W * (1 - decay) + eta * (y @ m), -w_max, w_max)
            ended += done
    return [W for W, _ in layers]


def test_compiled_learned_rule_follows_its_equations():
    spec, x, episodes, net = scripted_lifetime.play(LEARNED, (8, 6, 5, 4), episodes=3)
    expected = _reference(spec, x, episodes)
    scripted_lifetime.assert_weights_follow(net, spec, x, expected)


def test_initial_learned_rule_learns_cartpole_within_twenty_episodes_and_frozen_does_not():
    # The family starts evolution from a learner: weight perturbation lifts random linear
    # policies within a lifetime; eta at its floor does not (its perturbations, shrinking
    # from episode to episode, stay).
    spec = GenomeSpec("rules", (4, 2), "learned")
    seeds = np.arange(7000, 7000 + 16 * 20).reshape(16, 20)
    start = initial_vector(spec)
    frozen = start.copy()
    frozen[LEARNED.index("eta")] = LEARNED.params[0].low
    with Evaluator(EvalSettings("CartPole-v1", spec), workers=0) as ev:
        learning, still = ev.episode_returns(np.stack([start, frozen]), seeds)
    assert learning[:, -5:].mean() > 2 * learning[:, 0].mean()
    assert learning[:, -5:].mean() > 2 * still[:, -5:].mean()
    assert still[:, -5:].mean() < still[:, :5].mean() + 25


def test_every_learned_parameter_is_documented_with_its_initial_value():
    import genome.rules as rules

    table = rules.__doc__.split("Parameters per layer (76")[1].split("\nthreefactor-abcd")[0]
    scalars = LEARNED.params[:8]
    for p in scalars:
        (line,) = [ln for ln in table.splitlines() if re.match(rf"\s*{p.name}\s", ln)]
        assert float(re.search(r"\]\s+(\S+)", line).group(1)) == p.initial
    for p in LEARNED.params[8:]:
        if p.initial != 0.0:
            assert f"{p.name} {p.initial}" in table
    assert len(LEARNED.params) == 76
