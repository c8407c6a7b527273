"""The `threefactor` rule family: its equations, its noise, and that it learns without evolution."""

import numpy as np
import pytest

from envs import EvalSettings, Evaluator, PlasticNetwork, env_info
from envs.threefactor import RETURN_CLIP, noise_block
from genome import GenomeSpec, initial_vector
from genome.layout import batch_rules, rule_slice
from genome.rules import THREEFACTOR


def _rule(**values) -> np.ndarray:
    """One layer's rule in search space from natural values (the rest at their initial values)."""
    return np.array([p.to_search(values.get(p.name, p.initial)) for p in THREEFACTOR.params])


def _reference(spec, x, episodes, w_max=5.0):
    """The equations of genome/rules.py for one genome, written out plainly in numpy.

    `episodes` is a list of (seed, observations, rewards); each episode ends after its
    last step. The noise comes from the kernel's own hash (tested on its own below).
    """
    from envs.rule_kernels import REWARD_ALPHA, REWARD_CLIP
    from genome.layout import batch_weights

    layers = [(W[0].clip(-w_max, w_max), b[0].copy()) for W, b in batch_weights(spec, x)]
    rules = batch_rules(spec, x)[0]
    L = spec.n_layers
    mean, var = 0.0, 1.0
    s_bar, r_bar, r_dev = np.zeros(L), np.zeros(L), np.zeros(L)
    ended = 0
    for seed, observations, rewards in episodes:
        traces = [np.zeros_like(W) for W, _ in layers]
        ret = 0.0
        for t, (obs, reward) in enumerate(zip(observations, rewards, strict=True)):
            xi = noise_block(np.array([seed], dtype=np.uint64), t, sum(spec.layer_sizes[1:]))[0]
            acts, cleans, k = [obs], [None], 0
            for W, b in layers:
                a = W @ acts[-1] + b
                cleans.append(np.tanh(a))
                acts.append(np.tanh(a + rules[len(acts) - 1][2] * xi[k : k + len(b)]))
                k += len(b)
            delta = reward - mean
            s = np.clip(delta / np.sqrt(var + 1e-8), -REWARD_CLIP, REWARD_CLIP)
            mean, var = mean + REWARD_ALPHA * delta, var + REWARD_ALPHA * (delta * delta - var)
            ret += reward
            done = t == len(rewards) - 1
            for layer, (W, _) in enumerate(layers):
                eta, decay, _, lam, H, beta, g_step, g_ret, A, B, C, D = rules[layer]
                pre, post, clean = acts[layer], acts[layer + 1], cleans[layer + 1]
                ds = s - s_bar[layer]
                s_bar[layer] += beta * ds
                m = g_step * ds
                if done and ended == 0:
                    r_bar[layer], r_dev[layer] = ret, max(1.0, abs(ret) / 2)
                elif done:
                    dr = ret - r_bar[layer]
                    m += g_ret * np.clip(dr / r_dev[layer], -RETURN_CLIP, RETURN_CLIP)
                    r_dev[layer] = max(1.0, r_dev[layer] + beta * (abs(dr) - r_dev[layer]))
                    r_bar[layer] += beta * dr
                traces[layer] = lam * traces[layer] + np.outer(post - clean + H * post, pre)
                hebb = A * np.outer(post, pre) + B * pre[None, :] + C * post[:, None] + D
                W[:] = np.clip(W * (1 - decay) + eta * (m * traces[layer] + hebb), -w_max, w_max)
            ended += done
    return [W for W, _ in layers]


def test_compiled_threefactor_follows_its_equations():
    info = env_info("LunarLander-v3")
    spec = GenomeSpec("weights+rules", (8, 6, 5, 4), "threefactor")
    x = initial_vector(spec) + 0.5 * np.random.default_rng(4).standard_normal(spec.dim)
    rules = x[rule_slice(spec)].reshape(3, -1)
    rules[:, THREEFACTOR.index("eta")] = -1.0  # eta 0.1: large enough to matter
    rules[:, THREEFACTOR.index("step")] = 1.5
    rules[:, THREEFACTOR.index("return")] = 2.0
    rules[:, THREEFACTOR.index("trace_hebbian")] = 0.7
    rng = np.random.default_rng(8)
    episodes = [(seed, rng.standard_normal((n, 8)), 3 * rng.standard_normal(n))
                for seed, n in [(17, 12), (99, 7), (5, 9)]]
    net = PlasticNetwork(spec, info, x)
    net.reset(np.array([0]))
    for seed, observations, rewards in episodes:
        net.begin_episode(np.array([seed]))
        for t, (obs, reward) in enumerate(zip(observations, rewards, strict=True)):
            net.act(obs[None, :])
            done = np.array([t == len(rewards) - 1])
            net.learn(np.array([reward]), np.ones(1, bool), done)
    expected = _reference(spec, x, episodes)
    assert not np.allclose(expected[0], PlasticNetwork(spec, info, x).W[0][0])  # it did learn
    for W, W_ref in zip(net.W, expected, strict=True):
        # tanh is float32-precise (envs/kernels.py)
        np.testing.assert_allclose(W[0], W_ref, rtol=1e-5, atol=1e-7)


def test_exploration_noise_is_standard_normal_and_keyed_by_seed_and_step():
    seeds = np.arange(2000, dtype=np.uint64)
    xi = noise_block(seeds, 3, 50)
    assert abs(xi.mean()) < 0.01 and abs(xi.std() - 1.0) < 0.01
    assert abs(np.corrcoef(xi[:, 0], xi[:, 1])[0, 1]) < 0.05  # neurons independent
    np.testing.assert_array_equal(xi, noise_block(seeds, 3, 50))  # reproducible
    assert not np.allclose(xi, noise_block(seeds, 4, 50))  # a new step, new noise


def _hand_set_reinforce(eta: float) -> np.ndarray:
    """Node-perturbation REINFORCE set by hand: noise, an episode-long trace, return signal."""
    return _rule(eta=eta, decay=1e-8, noise=0.3, trace=0.99, trace_hebbian=0.0, baseline=0.1,
                 step=0.0, **{"return": 1.0}, hebbian=0.0, pre=0.0, post=0.0, bias=0.0)


def test_hand_set_rule_learns_cartpole_within_one_lifetime_and_frozen_one_does_not():
    # 8 random linear policies, each one lifetime of 200 episodes (fixed seeds): learning
    # is the last 20 episodes against the first 20. Seeds name gymnasium's episodes (in
    # envpool these 8 lifetimes gain less; over 40 both gain 23 +- 7-8).
    spec = GenomeSpec("rules", (4, 2), "threefactor")
    seeds = np.arange(1000, 1000 + 8 * 200).reshape(8, 200)
    with Evaluator(EvalSettings("CartPole-v1", spec, simulator="gymnasium"), workers=0) as ev:
        returns = ev.episode_returns(np.stack([_hand_set_reinforce(0.1),
                                               _hand_set_reinforce(1e-6)]), seeds)
    learning, frozen = returns[0], returns[1]
    assert learning[:, -20:].mean() > 2 * learning[:, :20].mean()
    assert learning[:, -20:].mean() > 60
    assert abs(frozen[:, -20:].mean() - frozen[:, :20].mean()) < 10


def test_initial_rule_of_the_family_learns_cartpole_within_twenty_episodes():
    # Evolution starts from a learner: the Hebbian trace credits the actions taken.
    spec = GenomeSpec("rules", (4, 2), "threefactor")
    seeds = np.arange(7000, 7000 + 16 * 20).reshape(16, 20)
    start = initial_vector(spec)
    frozen = start.copy()
    frozen[THREEFACTOR.index("eta")] = THREEFACTOR.params[0].low
    with Evaluator(EvalSettings("CartPole-v1", spec), workers=0) as ev:
        returns = ev.episode_returns(np.stack([start, frozen]), seeds)
    assert returns[0, :, -5:].mean() > 2 * returns[0, :, 0].mean()
    assert returns[0, :, -5:].mean() > 1.5 * returns[1, :, -5:].mean()


@pytest.mark.parametrize("how, expected", [("mean", 2.5), ("last_half", 3.5),
                                           ("weighted", (1 + 4 + 9 + 16) / 10)])
def test_lifetime_fitness_choices(how, expected):
    from envs import lifetime_fitness

    assert lifetime_fitness(np.array([[1.0, 2.0, 3.0, 4.0]]), how)[0] == pytest.approx(expected)


def test_equal_returns_with_the_fastest_baseline_keep_the_signal_finite():
    # baseline rate 1 makes the spread |R - R_bar| of the last episode: 0 after two equal
    # returns, unless floored (a random rule once divided by it).
    info = env_info("CartPole-v1")
    spec = GenomeSpec("rules", (4, 2), "threefactor")
    x = _rule(baseline=1.0, eta=0.5)
    net = PlasticNetwork(spec, info, x)
    net.reset(np.array([0]))
    for seed in range(4):
        net.begin_episode(np.array([seed]))
        net.act(np.ones((1, 4)))
        net.learn(np.ones(1), np.ones(1, bool), np.ones(1, bool))  # every return is 1
    assert all(np.isfinite(W).all() for W in net.W)
