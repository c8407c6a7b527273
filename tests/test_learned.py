"""The `learned` rule family: a rule network per layer, its equations, and that it learns."""

import re

import numpy as np

from envs import EvalSettings, Evaluator, PlasticNetwork
from envs.learned import DELTA_STEP
from envs.threefactor import RETURN_CLIP, gaussian, noise_block
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
    from envs.rule_kernels import REWARD_ALPHA, REWARD_CLIP

    layers = [(W[0].clip(-w_max, w_max), b[0].copy()) for W, b in batch_weights(spec, x)]
    rules = batch_rules(spec, x)[0]
    L = spec.n_layers
    mean, var = 0.0, 1.0
    s_bar, r_bar, r_dev = np.zeros(L), np.zeros(L), np.zeros(L)
    ended = 0
    for seed, observations, rewards, terminal in episodes:
        e_noise = [np.zeros_like(W) for W, _ in layers]
        e_hebb = [np.zeros_like(W) for W, _ in layers]
        deltas, offset = [], 0  # each synapse's perturbation, keyed by its place in the genome
        for layer, (W, b) in enumerate(layers):
            keys = offset + np.arange(W.size)
            deltas.append(rules[layer][6] * rules[layer][7] ** ended * np.array(
                [gaussian(seed, DELTA_STEP, int(k)) for k in keys]).reshape(W.shape))
            offset += W.size + b.size
        ret = 0.0
        for t, (obs, reward) in enumerate(zip(observations, rewards, strict=True)):
            xi = noise_block(np.array([seed], dtype=np.uint64), t, sum(spec.layer_sizes[1:]))[0]
            acts, cleans, k = [obs], [None], 0
            for layer, (W, b) in enumerate(layers):
                a = (W + deltas[layer]) @ acts[-1] + b
                cleans.append(np.tanh(a))
                acts.append(np.tanh(a + rules[layer][2] * xi[k : k + len(b)]))
                k += len(b)
            delta = reward - mean
            s = np.clip(delta / np.sqrt(var + 1e-8), -REWARD_CLIP, REWARD_CLIP)
            mean, var = mean + REWARD_ALPHA * delta, var + REWARD_ALPHA * (delta * delta - var)
            ret += reward
            done = t == len(rewards) - 1
            for layer, (W, _) in enumerate(layers):
                eta, decay, _, lam, lam_fast, beta = rules[layer][:6]
                U, c, V, S, o = _network_weights(rules[layer])
                ds = s - s_bar[layer]
                s_bar[layer] += beta * ds
                ret_signal = 0.0
                if done and ended == 0:
                    r_bar[layer], r_dev[layer] = ret, max(1.0, abs(ret) / 2)
                elif done:
                    dr = ret - r_bar[layer]
                    ret_signal = np.clip(dr / r_dev[layer], -RETURN_CLIP, RETURN_CLIP)
                    r_dev[layer] = max(1.0, r_dev[layer] + beta * (abs(dr) - r_dev[layer]))
                    r_bar[layer] += beta * dr
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
    assert not np.allclose(expected[0], PlasticNetwork(spec, net.info, x).W[0][0])  # it learned
    for W, W_ref in zip(net.W, expected, strict=True):
        # tanh is float32-precise (envs/kernels.py)
        np.testing.assert_allclose(W[0], W_ref, rtol=1e-5, atol=1e-7)


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

    table = rules.__doc__.split("Parameters per layer (76")[1]
    scalars = LEARNED.params[:8]
    for p in scalars:
        (line,) = [ln for ln in table.splitlines() if re.match(rf"\s*{p.name}\s", ln)]
        assert float(re.search(r"\]\s+(\S+)", line).group(1)) == p.initial
    for p in LEARNED.params[8:]:
        if p.initial != 0.0:
            assert f"{p.name} {p.initial}" in table
    assert len(LEARNED.params) == 76
