"""The `neuron-state` rule family: a gated cell per neuron, its equations, and that it learns."""

import numpy as np
import pytest

from envs import EvalSettings, Evaluator, PlasticNetwork, env_info
from genome import GenomeSpec, initial_vector
from genome.layout import batch_rules, batch_weights
from genome.rules import (
    EXPLORE_FAMILIES,
    MAX_RULE_PARAMS,
    NEURON_FEATURES,
    NEURON_STATE_FAMILIES,
    SYNAPSE_FEATURES,
    neuron_state_size,
)
from genome.spec import SpecError
from tests import scripted_lifetime

FAMILY = NEURON_STATE_FAMILIES[4]


def _cell(family, rule: np.ndarray) -> dict[str, np.ndarray]:
    """One layer's rule (natural units) as the matrices of the module docstring, by name."""
    named = dict(zip(family.names, rule, strict=True))
    units = [f"h{k}" for k in range(neuron_state_size(family))]
    parts = {}
    for gate in ("z", "c"):
        parts[f"A{gate}"] = np.array([[named[f"{gate}.{h}.{x}"] for x in NEURON_FEATURES]
                                      for h in units])
        parts[f"B{gate}"] = np.array([[named[f"{gate}.{h}.{g}"] for g in units] for h in units])
        parts[f"b{gate}"] = np.array([named[f"{gate}.{h}.bias"] for h in units])
    parts["q"] = np.array([named[f"q.{f}"] for f in SYNAPSE_FEATURES])
    for side in ("v", "w"):
        parts[side] = np.array([[named[f"{side}.{f}.{h}"] for h in units]
                                for f in SYNAPSE_FEATURES])
    parts["p_post"] = np.array([named[f"p.post.{h}"] for h in units])
    parts["p_pre"] = np.array([named[f"p.pre.{h}"] for h in units])
    parts["p_bias"] = named["p.bias"]
    return parts


def _reference(spec, x, episodes, w_max=5.0):
    """The equations of genome/rules.py for one genome, written out plainly in numpy.

    `episodes`: (seed, observations, rewards, terminal); each episode ends after its
    last step, in a terminal state when `terminal`. Returns the weights and every
    layer's output neurons' states (out, S).
    """
    layers = [(W[0].clip(-w_max, w_max), b[0].copy()) for W, b in batch_weights(spec, x)]
    rules = batch_rules(spec, x)[0]
    cells = [_cell(spec.family, rule) for rule in rules]
    n_s, L = neuron_state_size(spec.family), spec.n_layers
    states = [np.zeros((n, n_s)) for n in spec.layer_sizes]  # the observations' stay 0
    signals = scripted_lifetime.RewardSignals(L)
    ended = 0
    for seed, observations, rewards, terminal in episodes:
        deltas = []
        for layer, zeta in enumerate(scripted_lifetime.draws(layers, seed)):
            cell, jitter, anneal = cells[layer], rules[layer][4], rules[layer][5]
            gate_arg = ((states[layer + 1] @ cell["p_post"])[:, None]
                        + (states[layer] @ cell["p_pre"])[None, :] + cell["p_bias"])
            deltas.append(2.0 / (1.0 + np.exp(-gate_arg)) * jitter * anneal ** ended * zeta)
        for acts, cleans, done in scripted_lifetime.episode_steps(
                spec, layers, deltas, rules[:, 2], seed, observations, rewards, signals):
            returns = []
            for layer in range(L):  # the baselines, then every neuron's cell
                ds, R = signals.layer(layer, rules[layer][3], done, ended == 0)
                returns.append(R)
                cell, post, clean = cells[layer], acts[layer + 1], cleans[layer + 1]
                features = np.stack(np.broadcast_arrays(
                    post, post - clean, ds, R, float(done and terminal), float(done)), axis=-1)
                h = states[layer + 1]
                z = 1.0 / (1.0 + np.exp(-(features @ cell["Az"].T + h @ cell["Bz"].T
                                          + cell["bz"])))
                states[layer + 1] = (1.0 - z) * h + z * np.tanh(
                    features @ cell["Ac"].T + h @ cell["Bc"].T + cell["bc"])
            for layer, (W, _) in enumerate(layers):  # then every synapse, from the new states
                eta, decay = rules[layer][:2]
                cell, R = cells[layer], returns[layer]
                pre, post, clean = acts[layer], acts[layer + 1], cleans[layer + 1]
                y = np.stack(np.broadcast_arrays(
                    pre[None, :], post[:, None], np.outer(post - clean, pre), W / w_max,
                    deltas[layer], R * deltas[layer], 1.0), axis=-1)  # (out, in, 7)
                coef = (cell["q"] + (states[layer + 1] @ cell["v"].T)[:, None, :]
                        + (states[layer] @ cell["w"].T)[None, :, :])
                W[:] = np.clip(W * (1 - decay) + eta * (coef * y).sum(-1), -w_max, w_max)
            ended += done
    return [W for W, _ in layers], states


@pytest.mark.parametrize("state", [4, 2, 8])
def test_compiled_neuron_state_rule_follows_its_equations(state):
    spec, x, episodes, net = scripted_lifetime.play(
        NEURON_STATE_FAMILIES[state], (8, 6, 4) if state == 8 else (8, 6, 5, 4))
    expected, states = _reference(spec, x, episodes)
    scripted_lifetime.assert_weights_follow(net, spec, x, expected)
    assert np.abs(states[1]).max() > 0.05  # and its neurons did remember something
    kept = net._rows["state"][: state * sum(spec.layer_sizes), 0]
    np.testing.assert_allclose(kept.reshape(-1, state), np.concatenate(states),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kind", ["rules", "weights+rules"])
def test_batched_neuron_state_fitness_equals_one_genome_at_a_time(kind):
    scripted_lifetime.assert_batch_scores_each_genome_as_alone(kind, FAMILY.name)


def test_start_plays_the_same_lifetimes_as_the_recurrent_explore_start():
    # recurrent-explore's success unit was the same in every synapse: moved to the neurons,
    # the start is the same learner, so the lifetimes are the same.
    seeds = np.arange(5000, 5000 + 8 * 12).reshape(8, 12)
    returns = []
    for family in (FAMILY, EXPLORE_FAMILIES[4]):
        spec = GenomeSpec("rules", (4, 16, 2), family.name)
        with Evaluator(EvalSettings("CartPole-v1", spec), workers=0) as ev:
            returns.append(ev.episode_returns(initial_vector(spec)[None, :], seeds)[0])
    np.testing.assert_allclose(returns[0], returns[1])
    assert returns[0][:, -3:].mean() > returns[0][:, 0].mean() + 20  # and it learns


def _lifetime(rule: np.ndarray) -> tuple[float, float]:
    """How far a hidden-16 CartPole network's weights and its neurons' states moved in a
    lifetime of four episodes under `rule`."""
    import gymnasium as gym

    from envs import run_lifetimes
    from envs.episodes import weight_seeds

    spec = GenomeSpec("rules", (4, 16, 2), FAMILY.name)
    net = PlasticNetwork(spec, env_info("CartPole-v1"), np.tile(rule, 2))
    net.reset(weight_seeds(np.array([3])))
    start = [W[0].copy() for W in net.W]
    run_lifetimes([gym.make("CartPole-v1")], net, [3, 4, 5, 6])
    moved = max(np.abs(W[0] - W0).max() for W, W0 in zip(net.W, start, strict=True))
    return moved, np.abs(net._rows["state"][: 4 * sum(spec.layer_sizes), 0]).max()


def test_hand_set_neuron_rule_moves_its_weights_in_a_lifetime_and_with_its_read_out_off_does_not():
    # A rule whose only change comes from its neurons' states: a Hebbian term pre x h0_post,
    # h0 a neuron's running mean of its own activity (q.return_delta 0, decay at its floor).
    spec = GenomeSpec("rules", (4, 16, 2), FAMILY.name)
    start = dict(zip(FAMILY.names, initial_vector(spec)[: FAMILY.n_params], strict=True))
    memory = dict(start) | {"q.return_delta": 0.0, "decay": -8.0, "c.h0.act": 2.0,
                            "v.pre.h0": 10.0}
    off = memory | {"v.pre.h0": 0.0}  # the cells run, nothing reads them
    moved, remembered = _lifetime(np.array(list(memory.values())))
    still, remembered_off = _lifetime(np.array(list(off.values())))
    assert moved > 0.1 and remembered > 0.1
    assert still < 1e-4 and remembered_off > 0.1  # decay at its floor, 1e-8 a step


def test_neuron_state_parameters_do_not_grow_with_width_and_stay_within_the_limit():
    for hidden in [(), (16,), (256, 256), (8,) * 4]:
        spec = GenomeSpec("rules", (4, *hidden, 2), FAMILY.name)
        assert spec.n_rule_params == spec.n_layers * FAMILY.n_params <= MAX_RULE_PARAMS
    with pytest.raises(SpecError, match="1000"):
        GenomeSpec("rules", (4, *(8,) * 6, 2), FAMILY.name)
    assert [f.n_params for f in NEURON_STATE_FAMILIES.values()] == [
        14 + 30 * s + 2 * s * s for s in NEURON_STATE_FAMILIES]


@pytest.mark.parametrize("flags, flag", [
    (["--rule-state", "9"], "--rule-state"),
    (["--rule-state", "1"], "--rule-state"),
    (["--rule-state", "8", "--hidden", "16,16"], "--hidden"),  # 3 layers of 382: over 1,000
])
def test_a_state_size_out_of_range_stops_the_node_in_one_line(tmp_path, flags, flag):
    from tests.conftest import run_cli

    result = run_cli("island-node", "--env", "CartPole-v1", "--kind", "rules", "--rule-family",
                     "neuron-state", *flags, "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and flag in result.stderr


def test_rule_state_picks_the_neuron_state_family_of_that_size():
    from island.config import config_from_mapping
    from island.environments import TrainingEnvs

    config = config_from_mapping({"evaluation": {"kind": "rules", "rule_family": "neuron-state",
                                                 "rule_state": 6, "hidden": [8]}})
    (settings,) = TrainingEnvs.from_config(config.evaluation).settings
    assert settings.spec.rule_family == "neuron-state6"
    assert settings.spec.n_rule_params == 2 * NEURON_STATE_FAMILIES[6].n_params
