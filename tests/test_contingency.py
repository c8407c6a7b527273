"""The `contingency` rule family: its equations, that its weights come to be its actions'
effects times its gain, and that its hand-set start learns Acrobot-v1."""

import re

import gymnasium as gym
import numpy as np
import pytest

from envs import EvalSettings, Evaluator, PlasticNetwork, env_info, run_lifetimes
from envs.episodes import weight_seeds
from genome import GenomeSpec, initial_vector
from genome.layout import batch_rules, batch_weights
from genome.rules import CONTINGENCY, MAX_RULE_PARAMS
from tests import scripted_lifetime


def _noise_effect(post: np.ndarray, clean: np.ndarray, choice: bool) -> np.ndarray:
    """What the noise changed: the activity, or (`choice`) which action was taken."""
    if not choice:
        return post - clean
    return np.eye(len(post))[np.argmax(post)] - np.eye(len(post))[np.argmax(clean)]


def _reference(spec, x, episodes, discrete, w_max=5.0):
    """The equations of genome/rules.py for one genome, written out plainly in numpy."""
    layers = [(W[0].clip(-w_max, w_max), b[0].copy()) for W, b in batch_weights(spec, x)]
    rules = batch_rules(spec, x)[0]
    eta, decay, noise, trace, gain = rules.T
    signals = scripted_lifetime.RewardSignals(spec.n_layers)
    none = [np.zeros_like(W) for W, _ in layers]
    for seed, observations, rewards, _ in episodes:
        traces = [np.zeros(len(b)) for _, b in layers]
        before = None
        for acts, cleans, _ in scripted_lifetime.episode_steps(
                spec, layers, none, noise, seed, observations, rewards, signals):
            for layer, (W, _) in enumerate(layers):
                moved = 0.0 if before is None else np.outer(traces[layer],
                                                            acts[layer] - before[layer])
                W[:] = np.clip(W * (1 - decay[layer]) + eta[layer] * gain[layer] * moved,
                               -w_max, w_max)
                choice = discrete and layer == spec.n_layers - 1
                traces[layer] = trace[layer] * traces[layer] + _noise_effect(
                    acts[layer + 1], cleans[layer + 1], choice)
            before = acts
    return [W for W, _ in layers]


@pytest.mark.parametrize("env, layers", [("LunarLander-v3", (8, 6, 4)),
                                         ("LunarLanderContinuous-v3", (8, 5, 6, 2)),
                                         ("LunarLander-v3", (8, 4))])
def test_compiled_contingency_rule_follows_its_equations(env, layers):
    spec, x, episodes, net = scripted_lifetime.play(CONTINGENCY, layers, env=env)
    expected = _reference(spec, x, episodes, env_info(env).discrete)
    scripted_lifetime.assert_weights_follow(net, spec, x, expected)


@pytest.mark.parametrize("kind", ["rules", "weights+rules"])
def test_batched_contingency_fitness_equals_one_genome_at_a_time(kind):
    scripted_lifetime.assert_batch_scores_each_genome_as_alone(kind, CONTINGENCY.name)


def _lived(**rule: float) -> np.ndarray:
    """A random linear Acrobot-v1 network's weights after four episodes under the hand-set
    rule with `rule`'s values (natural units) instead."""
    spec = GenomeSpec("rules", (6, 3), CONTINGENCY.name)
    x = initial_vector(spec)
    for name, value in rule.items():
        x[CONTINGENCY.index(name)] = CONTINGENCY.params[CONTINGENCY.index(name)].to_search(value)
    net = PlasticNetwork(spec, env_info("Acrobot-v1"), x[None, :])
    net.reset(weight_seeds(np.array([3])))
    start = net.W[0][0].copy()
    run_lifetimes([gym.make("Acrobot-v1")], net, [3, 4, 5, 6])
    return net.W[0][0] - start


def test_weights_become_the_actions_effects_times_the_gain_and_stay_with_learning_off():
    # Torque +1 (action 2) speeds the second joint (input 5) and slows the first (input 4)
    # against torque -1 (action 0): gain 1 wants more of what it does, gain -1 less.
    pump, brake = _lived(gain=1.0), _lived(gain=-1.0)
    for moved, sign in ((pump, 1), (brake, -1)):
        push = moved[2] - moved[0]  # what choosing +1 over -1 came to weigh, per input
        assert sign * push[5] > 0.5 and sign * push[4] < -0.1
    still = _lived(eta=1e-6, decay=1e-8)  # both at their floors
    assert np.abs(still).max() < 1e-3


def test_hand_set_start_lifts_random_linear_acrobot_networks():
    spec = GenomeSpec("rules", (6, 3), CONTINGENCY.name)
    seeds = np.arange(7000, 7000 + 8 * 8).reshape(8, 8)
    off = initial_vector(spec)
    off[CONTINGENCY.index("eta")] = -6.0  # learning off, the rest kept
    with Evaluator(EvalSettings("Acrobot-v1", spec), workers=0) as ev:
        learns, still = ev.episode_returns(np.stack([initial_vector(spec), off]), seeds)
    assert learns[:, -3:].mean() > -140 and learns[:, -3:].mean() > learns[:, 0].mean() + 30
    assert still[:, -3:].mean() < -300  # random weights, no learning: rarely swing up


def test_contingency_parameters_do_not_grow_with_width():
    for hidden in [(), (16,), (256, 256)]:
        spec = GenomeSpec("rules", (6, *hidden, 3), CONTINGENCY.name)
        assert spec.n_rule_params == spec.n_layers * 5 <= MAX_RULE_PARAMS


def test_every_contingency_parameter_is_documented_with_its_initial_value():
    import genome.rules as rules

    table = rules.__doc__.split("\ncontingency\n")[1]
    for p in CONTINGENCY.params:
        (line,) = [ln for ln in table.splitlines() if re.match(rf"\s*{p.name}\s", ln)]
        assert float(re.search(r"\]\s+(\S+)", line).group(1)) == p.initial


def test_a_hand_set_start_with_another_gain_is_written_and_a_bad_value_refused(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from genome import decode_genome

    script = Path(__file__).resolve().parent.parent / "experiments" / "hand_set_genome.py"
    out = tmp_path / "start.msgpack"
    run = [sys.executable, str(script), str(out), "--family", CONTINGENCY.name, "--env",
           "LunarLander-v3", "--hidden", "4", "--normalise-obs", "--set"]
    subprocess.run([*run, "gain=-1", "noise=0.5"], check=True, capture_output=True)
    spec, x, meta = decode_genome(out.read_bytes())
    natural = CONTINGENCY.to_natural(x.reshape(spec.n_layers, -1))
    np.testing.assert_allclose(natural[:, CONTINGENCY.index("gain")], [-1.0, -1.0])
    np.testing.assert_allclose(natural[:, CONTINGENCY.index("noise")], [0.5, 0.5])
    assert meta["normalise_obs"] and "gain=-1" in meta["chosen_by"]
    bad = subprocess.run([*run, "gain=minus"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--set gain=minus" in bad.stderr.strip().splitlines()[-1]
