"""The `recurrent` rule family: a gated cell per synapse, its equations, and that it learns."""

import numpy as np
import pytest

from envs import EvalSettings, Evaluator, PlasticNetwork, env_info
from genome import GenomeSpec, initial_vector
from genome.layout import batch_rules, batch_weights
from genome.rules import (
    ANTITHETIC_FAMILIES,
    EXPLORE_FAMILIES,
    FAMILIES,
    MAX_RULE_PARAMS,
    RECURRENT,
    RECURRENT_FAMILIES,
    RECURRENT_FEATURES,
    RECURRENT_STATE,
    antithetic,
    explores,
    recurrent_state,
)
from genome.spec import SpecError
from tests import scripted_lifetime


def _rule(**values) -> np.ndarray:
    """One layer's rule in search space from natural values (`a__b` names `a.b`)."""
    values = {k.replace("__", "."): v for k, v in values.items()}
    return np.array([p.to_search(values.get(p.name, p.initial)) for p in RECURRENT.params])


def _cell(family, rule: np.ndarray) -> tuple[np.ndarray, ...]:
    """Az, Bz, bz, Ac, Bc, bc, v, u, q, o of one layer's rule (natural units), by name."""
    named = dict(zip(family.names, rule, strict=True))
    units = [f"h{k}" for k in range(recurrent_state(family))]
    parts = []
    for gate in ("z", "c"):
        parts.append(np.array([[named[f"{gate}.{h}.{x}"] for x in RECURRENT_FEATURES]
                               for h in units]))
        parts.append(np.array([[named[f"{gate}.{h}.{g}"] for g in units] for h in units]))
        parts.append(np.array([named[f"{gate}.{h}.bias"] for h in units]))
    parts.append(np.array([named[f"v.{h}"] for h in units]))
    parts.append(np.array([named[f"u.{h}"] for h in units]))
    parts.append(np.array([named[f"q.{x}"] for x in RECURRENT_FEATURES]))
    parts.append(np.array(named["o"]))
    return tuple(parts)


def _reference(spec, x, episodes, w_max=5.0):
    """The equations of genome/rules.py for one genome, written out plainly in numpy.

    `episodes`: (seed, observations, rewards, terminal); each episode ends after its
    last step, in a terminal state when `terminal`. Returns the weights and every
    layer's cell states (out, in, S).
    """
    layers = [(W[0].clip(-w_max, w_max), b[0].copy()) for W, b in batch_weights(spec, x)]
    rules = batch_rules(spec, x)[0]
    L = spec.n_layers
    states = [np.zeros((*W.shape, recurrent_state(spec.family))) for W, _ in layers]
    signals = scripted_lifetime.RewardSignals(L)
    ended = 0
    pair = [None] * L  # the draws zeta of a pair's first episode (the -antithetic families)
    for seed, observations, rewards, terminal in episodes:
        deltas = []
        for layer, zeta in enumerate(scripted_lifetime.draws(layers, seed)):
            jitter, anneal = rules[layer][4], rules[layer][5]
            gate = 1.0
            if explores(spec.family):  # 2 sigmoid(p . h + p_bias), h as the episode starts
                named = dict(zip(spec.family.names, rules[layer], strict=True))
                p = np.array([named[f"p.h{k}"] for k in range(states[layer].shape[-1])])
                gate = 2.0 / (1.0 + np.exp(-(states[layer] @ p + named["p.bias"])))
            if antithetic(spec.family) and ended % 2 == 1:
                zeta = -pair[layer]  # the mirror of the pair's first episode
            pair[layer] = zeta
            deltas.append(gate * jitter * anneal ** ended * zeta)
        for acts, cleans, done in scripted_lifetime.episode_steps(
                spec, layers, deltas, rules[:, 2], seed, observations, rewards, signals):
            for layer, (W, _) in enumerate(layers):
                eta, decay, _, beta = rules[layer][:4]
                Az, Bz, bz, Ac, Bc, bc, v, u, q, o = _cell(spec.family, rules[layer])
                ds, R = signals.layer(layer, beta, done, ended == 0)
                pre, post, clean = acts[layer], acts[layer + 1], cleans[layer + 1]
                features = np.stack(np.broadcast_arrays(
                    pre[None, :], post[:, None], np.outer(post - clean, pre), W / w_max,
                    deltas[layer], R * deltas[layer], ds, R, float(done and terminal), float(done)),
                    axis=-1)  # (out, in, 10)
                h = states[layer]
                z = 1.0 / (1.0 + np.exp(-(features @ Az.T + h @ Bz.T + bz)))
                h = (1.0 - z) * h + z * np.tanh(features @ Ac.T + h @ Bc.T + bc)
                states[layer] = h
                out = h @ v + features @ q + o + (h @ u if done else 0.0)
                W[:] = np.clip(W * (1 - decay) + eta * out, -w_max, w_max)
            ended += done
    return [W for W, _ in layers], states


@pytest.mark.parametrize("state, families", [
    (RECURRENT_STATE, RECURRENT_FAMILIES), (2, RECURRENT_FAMILIES), (8, RECURRENT_FAMILIES),
    (RECURRENT_STATE, EXPLORE_FAMILIES), (2, EXPLORE_FAMILIES),
    (RECURRENT_STATE, ANTITHETIC_FAMILIES), (2, ANTITHETIC_FAMILIES)])
def test_compiled_recurrent_rule_follows_its_equations(state, families):
    spec, x, episodes, net = scripted_lifetime.play(
        families[state], (8, 6, 4) if state == 8 else (8, 6, 5, 4))
    expected, states = _reference(spec, x, episodes)
    scripted_lifetime.assert_weights_follow(net, spec, x, expected)
    assert np.abs(states[0]).max() > 0.05  # and its cells did remember something
    kept = net._rows["state"][: state * spec.n_weights, 0]
    offset = 0
    for (out, inp), h in zip(spec.layer_shapes, states, strict=True):
        cells = kept[state * offset : state * (offset + out * inp)]
        np.testing.assert_allclose(cells.reshape(out, inp, state), h, rtol=1e-5, atol=1e-7)
        offset += out * inp + out


@pytest.mark.parametrize("kind, family", [("rules", "recurrent"), ("weights+rules", "recurrent"),
                                          ("rules", "recurrent-explore-antithetic")])
def test_batched_recurrent_fitness_equals_one_genome_at_a_time(kind, family):
    scripted_lifetime.assert_batch_scores_each_genome_as_alone(kind, family)


# A rule whose every weight change comes out of its memory: at each episode's end (and only
# then: the update gate opens on `end`) the cell's first unit takes in the return-weighted
# perturbation, a running average (momentum), and the weight moves by it.
MEMORY = {"q__return_delta": 0.0, "u__h0": 2.0, "z__h0__bias": -10.0, "z__h0__end": 10.0,
          "c__h0__return_delta": 1.0}


def test_hand_set_recurrent_rule_learns_cartpole_from_its_memory_and_with_its_update_off_does_not():
    spec = GenomeSpec("rules", (4, 2), "recurrent")
    seeds = np.arange(7000, 7000 + 16 * 20).reshape(16, 20)
    memory = _rule(**MEMORY)
    off = _rule(**(MEMORY | {"u__h0": 0.0, "decay": 1e-8}))  # the cell runs, nothing reads it
    with Evaluator(EvalSettings("CartPole-v1", spec), workers=0) as ev:
        learning, still = ev.episode_returns(np.stack([memory, off]), seeds)
    assert learning[:, -5:].mean() > 2.5 * learning[:, 0].mean()
    assert still[:, -5:].mean() < still[:, :5].mean() + 25
    # Within one lifetime, on a real environment: the weights move; with the update off
    # they stay where they started while the cells still change.
    import gymnasium as gym

    from envs import run_lifetimes
    from envs.episodes import weight_seeds
    info = env_info("CartPole-v1")
    moved = []
    for rule in (memory, off):
        net = PlasticNetwork(spec, info, rule)
        net.reset(weight_seeds(np.array([3])))  # the lifetime's own initial weights
        start = net.W[0].copy()
        run_lifetimes([gym.make("CartPole-v1")], net, [3, 4, 5, 6])
        assert np.abs(net._rows["state"][: RECURRENT_STATE * spec.n_weights, 0]).max() > 0.01
        moved.append(np.abs(net.W[0] - start).max())
    assert moved[0] > 0.1 and moved[1] < 1e-4  # decay at its floor, 1e-8 a step


def test_explore_gate_at_zero_is_recurrent_and_closed_it_stops_the_perturbations():
    # The `-explore` family starts as `recurrent` (gate 2 sigmoid(0) = 1); with the gate shut
    # (p_bias -10, its bound: 2 sigmoid = 1e-4) a lifetime's perturbations vanish, so the
    # perturb-and-keep rule, whose only change is return x delta, no longer moves its weights.
    import gymnasium as gym

    from envs import run_lifetimes
    from envs.episodes import weight_seeds

    base, gated = (GenomeSpec("rules", (4, 2), f.name) for f in (RECURRENT, EXPLORE_FAMILIES[4]))
    rule = _rule(decay=1e-8)
    opened = np.concatenate([rule, np.zeros(EXPLORE_FAMILIES[4].n_params - RECURRENT.n_params)])
    shut = opened.copy()
    shut[-1] = -10.0
    seeds = np.arange(9000, 9000 + 8 * 10).reshape(8, 10)
    with Evaluator(EvalSettings("CartPole-v1", base), workers=0) as ev:
        (plain,) = ev.episode_returns(rule[None, :], seeds)
    with Evaluator(EvalSettings("CartPole-v1", gated), workers=0) as ev:
        (same,) = ev.episode_returns(opened[None, :], seeds)
    np.testing.assert_allclose(same, plain)
    assert plain[:, -3:].mean() > plain[:, 0].mean() + 20  # the open rule learns
    moved = []
    for x in (opened, shut):
        net = PlasticNetwork(gated, env_info("CartPole-v1"), x)
        net.reset(weight_seeds(np.array([3])))
        start = net.W[0].copy()
        run_lifetimes([gym.make("CartPole-v1")], net, [3, 4, 5, 6])
        moved.append(np.abs(net.W[0] - start).max())
        delta = net._rows["state"][4 * gated.n_weights : 5 * gated.n_weights, 0]
    assert np.abs(delta).max() < 1e-3  # the shut gate's last episode was not perturbed
    assert moved[0] > 0.1 and moved[1] < 1e-3


def test_explore_start_that_remembers_success_beats_the_recurrent_start_on_cartpole():
    # The `recurrent-explore` start closes its exploration after an episode that was cut
    # short without failing: its last episodes play what it found instead of perturbing it.
    gated = GenomeSpec("rules", (4, 2), EXPLORE_FAMILIES[4].name)
    start = initial_vector(gated)
    plain = start.copy()
    plain[-(RECURRENT_STATE + 1):] = 0.0  # gate 1: the recurrent rule's own exploration
    seeds = np.arange(123000, 123000 + 48 * 20).reshape(48, 20)
    with Evaluator(EvalSettings("CartPole-v1", gated), workers=0) as ev:
        remembers, explores_on = ev.episode_returns(np.stack([start, plain]), seeds)
    assert remembers[:, 0].mean() == explores_on[:, 0].mean()  # the same first episodes
    assert remembers[:, -5:].mean() > explores_on[:, -5:].mean() + 25


def test_recurrent_rule_parameters_do_not_grow_with_width_and_stay_within_the_limit():
    for hidden in [(), (16,), (256, 256), (8,) * 5]:
        spec = GenomeSpec("rules", (4, *hidden, 2), "recurrent")
        assert spec.n_rule_params == spec.n_layers * RECURRENT.n_params <= MAX_RULE_PARAMS
    with pytest.raises(SpecError, match="1000"):
        GenomeSpec("rules", (4, *(8,) * 6, 2), "recurrent")
    assert [f.n_params for f in RECURRENT_FAMILIES.values()] == [
        17 + 24 * s + 2 * s * s for s in RECURRENT_FAMILIES]


@pytest.mark.parametrize("flags, flag", [
    (["--rule-state", "9"], "--rule-state"),
    (["--rule-state", "1"], "--rule-state"),
    (["--hidden", "5000"], "--hidden"),
    (["--hidden", "16,16,16,16,16,16"], "--hidden"),  # 7 layers of 145: over 1,000
])
def test_a_state_size_or_hidden_width_out_of_range_stops_the_node_in_one_line(tmp_path, flags,
                                                                              flag):
    from tests.conftest import run_cli

    result = run_cli("island-node", "--env", "CartPole-v1", "--kind", "rules", "--rule-family",
                     "recurrent", *flags, "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and flag in result.stderr


@pytest.mark.parametrize("family, sized", [
    ("recurrent", "recurrent6"),
    ("recurrent-explore", "recurrent6-explore"),
    ("recurrent-explore-antithetic", "recurrent6-explore-antithetic"),
])
def test_rule_state_picks_the_recurrent_family_of_that_size(family, sized):
    from island.config import config_from_mapping
    from island.environments import TrainingEnvs

    config = config_from_mapping({"evaluation": {"kind": "rules", "rule_family": family,
                                                 "rule_state": 6, "hidden": [8]}})
    (settings,) = TrainingEnvs.from_config(config.evaluation).settings
    assert settings.spec.rule_family == sized
    assert settings.spec.n_rule_params == 2 * FAMILIES[sized].n_params


@pytest.mark.parametrize("family", ["hebbian", "learned", "recurrent6"])
def test_a_rule_state_for_a_family_it_cannot_size_stops_the_node_in_one_line(tmp_path, family):
    """It used to be ignored: `--rule-family recurrent-explore --rule-state 8` ran state 4
    while config.toml recorded 8."""
    from tests.conftest import run_cli

    result = run_cli("island-node", "--env", "CartPole-v1", "--kind", "rules", "--rule-family",
                     family, "--rule-state", "6", "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "--rule-state" in line and family in line
    assert not (tmp_path / "run").exists()


def _lifetime_from_twin_units(rule: np.ndarray) -> list[np.ndarray]:
    """Hidden units 0 and 1 of a (4, 16, 2) network start identical; six CartPole episodes."""
    import gymnasium as gym

    info = env_info("CartPole-v1")
    spec = GenomeSpec("rules", (4, 16, 2), "recurrent")
    net = PlasticNetwork(spec, info, np.tile(rule, 2))
    net.reset(np.array([1]))
    (W0, _), (W1, _) = net._layers()
    W0[0, 1] = W0[0, 0]  # the same input weights ...
    W1[0, :, 1] = W1[0, :, 0]  # ... and the same weights onto the actions
    env = gym.make("CartPole-v1")
    for seed in range(10, 16):
        net.begin_episode(np.array([seed]))
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(int(net.act(obs[None, :])[0]))
            done = terminated or truncated
            ended = np.array([done])
            net.learn(np.array([reward]), np.ones(1, bool), ended, ended & terminated)
    (W0, _), (W1, _) = net._layers()
    return [np.abs(W0[0, 0] - W0[0, 1]).max(), np.abs(W1[0, :, 0] - W1[0, :, 1]).max()]


def test_hidden_units_that_start_alike_learn_apart():
    # A cell shared by a layer's synapses must not keep hidden units alike: their
    # perturbations and noise are keyed by their own indices, so two units that start with
    # the same weights try different changes and keep different ones. Without perturbations
    # and noise nothing tells them apart.
    assert min(_lifetime_from_twin_units(_rule())) > 0.05
    silent = _rule(jitter=1e-4, noise=1e-4)
    assert max(_lifetime_from_twin_units(silent)) < 1e-3


def test_antithetic_family_plays_each_draw_then_its_mirror():
    # Episode 2j + 1 of a lifetime tries -zeta of episode 2j (at its own anneal); episode 2j + 2
    # draws afresh, as `recurrent-explore` does from the same seed.
    import gymnasium as gym

    from envs import run_lifetimes
    from envs.episodes import weight_seeds

    paired, gated = (GenomeSpec("rules", (4, 2), f.name)
                     for f in (ANTITHETIC_FAMILIES[4], EXPLORE_FAMILIES[4]))
    rule = initial_vector(paired)
    rule[paired.family.index("eta")] = -6.0  # eta 1e-6: the weights stay where they start
    rule[-(RECURRENT_STATE + 1):] = 0.0  # gate 1 whatever the cells remember
    anneal = paired.family.to_natural(rule)[paired.family.index("anneal")]
    deltas = {}
    for spec in (paired, gated):
        net = PlasticNetwork(spec, env_info("CartPole-v1"), rule)
        for episodes in ([3], [3, 4], [3, 4, 5]):
            net.reset(weight_seeds(np.array([3])))
            run_lifetimes([gym.make("CartPole-v1")], net, episodes)
            deltas[spec.family.name, len(episodes)] = net._rows["state"][
                4 * spec.n_weights : 5 * spec.n_weights, 0].copy()
    first, mirror, third = (deltas[paired.family.name, k] for k in (1, 2, 3))
    assert np.abs(first).max() > 0.1
    np.testing.assert_allclose(mirror, -anneal * first)
    np.testing.assert_allclose(first, deltas[gated.family.name, 1])
    np.testing.assert_allclose(third, deltas[gated.family.name, 3])
    assert not np.allclose(deltas[gated.family.name, 2], mirror)
