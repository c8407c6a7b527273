"""The batched plastic network on real gymnasium environments."""

import os
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from envs import EvalSettings, Evaluator, PlasticNetwork, env_info, run_lifetimes
from envs.evaluator import split_work
from genome import GenomeSpec, initial_vector


def _population(spec, n, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    return initial_vector(spec) + scale * rng.standard_normal((n, spec.dim))


def test_one_rule_of_21_parameters_drives_networks_of_two_widths():
    info = env_info("CartPole-v1")
    rule = _population(GenomeSpec("rules", (4, 8, 8, 2)), 1)[0]
    for hidden in [(8, 8), (64, 32)]:
        spec = GenomeSpec("rules", (4, *hidden, 2))
        assert spec.dim == 21
        with Evaluator(EvalSettings("CartPole-v1", spec), workers=0) as ev:
            fitness = ev.evaluate(rule[None, :], [1, 2]).fitness
        assert fitness.shape == (1,) and fitness[0] >= 8  # it acted until the pole fell
        assert PlasticNetwork(spec, info, rule).W[0].shape == (1, hidden[0], 4)


@pytest.mark.parametrize("env_id, kind, family", [
    ("CartPole-v1", "weights+rules", "hebbian"),
    ("LunarLander-v3", "rules", "oja"),
    ("BipedalWalker-v3", "weights+rules", "hebbian"),
])
def test_batched_network_acts_like_genomes_evaluated_one_at_a_time(env_id, kind, family):
    info = env_info(env_id)
    spec = GenomeSpec(kind, (info.obs_dim, 16, 8, info.act_dim), family)
    X = _population(spec, 6)
    batch = PlasticNetwork(spec, info, X)
    singles = [PlasticNetwork(spec, info, x) for x in X]
    rng = np.random.default_rng(5)
    for _ in range(30):  # acting and learning in lockstep must not mix genomes
        obs = rng.standard_normal((6, info.obs_dim))
        reward = rng.standard_normal(6)
        actions = batch.act(obs)
        for i, net in enumerate(singles):
            np.testing.assert_allclose(net.act(obs[i : i + 1])[0], actions[i], atol=1e-9)
            net.learn(reward[i : i + 1], np.ones(1, bool))
        batch.learn(reward, np.ones(6, bool))
    for layer in range(3):
        for i, net in enumerate(singles):
            np.testing.assert_allclose(net.W[layer][0], batch.W[layer][i], atol=1e-9)


@pytest.mark.parametrize("family", ["hebbian", "threefactor", "learned"])
@pytest.mark.parametrize("seeds", [[11, 12], [[11, 12]], [[11, 12], [13, 14]]],
                         ids=["two-lifetimes-of-one", "one-lifetime-of-two", "two-of-two"])
def test_batched_fitness_equals_one_genome_at_a_time(family, seeds):
    # Episodes end at different times, so batches shrink; in a lifetime of several
    # episodes a genome's second episode starts from what it learned in the first,
    # shrunk or not, and its exploration noise does not depend on its batch.
    spec = GenomeSpec("weights+rules", (8, 16, 16, 4), family)
    X = _population(spec, 5, seed=2)
    settings = EvalSettings("LunarLander-v3", spec, max_steps=200, lifetime_fitness="mean")
    with Evaluator(settings, workers=0) as ev:
        together = ev.evaluate(X, seeds).fitness
        apart = np.array([ev.evaluate(x[None, :], seeds).fitness[0] for x in X])
    np.testing.assert_allclose(together, apart)


# Fitness of five genomes per family, recorded with the kernels that kept one network per
# row (commit 00188db), before every family's kernels ran rows innermost.
ONE_NETWORK_PER_ROW = {
    ("weights+rules", "threefactor"): [-488.068928761, -221.578419638, -577.794739443,
                                       -167.795142524, -91.480786845],
    ("rules", "threefactor-abcd"): [-585.232448746, -363.952513652, -141.443677475,
                                    -130.891685157, -125.362647177],
    ("weights+rules", "learned"): [-429.603562099, -626.179752527, -668.4076532,
                                   -507.540508027, -280.85654999],
    ("rules", "perturbation"): [-360.164893779, -570.259482865, -366.63319063,
                                -348.450510519, -317.976760682],
    ("weights+rules", "recurrent2"): [-288.002797886, -290.593711045, -562.424317188,
                                      -580.439339816, -482.956521134],
    ("rules", "recurrent-explore"): [-436.866909517, -573.896612323, -351.7005489,
                                     -326.011356225, -412.044935468],
}


@pytest.mark.parametrize("kind, family", list(ONE_NETWORK_PER_ROW))
def test_rows_innermost_kernels_score_as_one_network_per_row_did(kind, family):
    # Same genomes, same episode seeds, lifetimes of three episodes whose batches shrink:
    # the rows-innermost layout changes where numbers sit, not what a genome does.
    spec = GenomeSpec(kind, (8, 16, 16, 4), family)
    X = initial_vector(spec) + 0.5 * np.random.default_rng(2).standard_normal((5, spec.dim))
    settings = EvalSettings("LunarLander-v3", spec, max_steps=200, lifetime_fitness="mean",
                            simulator="gymnasium")
    with Evaluator(settings, workers=0) as ev:
        fitness = ev.evaluate(X, [[11, 12, 15], [13, 14, 16]]).fitness
    np.testing.assert_allclose(fitness, ONE_NETWORK_PER_ROW[kind, family], rtol=1e-9)


@pytest.mark.parametrize("family", ["hebbian", "oja"])
def test_rule_changes_weights_during_an_episode_and_keeps_them_bounded(family):
    info = env_info("LunarLander-v3")
    spec = GenomeSpec("rules", (8, 16, 16, 4), family)
    X = _population(spec, 4, seed=7, scale=3.0)  # strong, wild rules
    net = PlasticNetwork(spec, info, X, w_max=2.0)
    net.reset(np.full(4, 123))
    before = [W.copy() for W in net.W]
    envs = [gym.make("LunarLander-v3") for _ in range(4)]
    run_lifetimes(envs, net, [3], max_steps=300)
    for env in envs:
        env.close()
    assert any(not np.allclose(b, W) for b, W in zip(before, net.W, strict=True))
    assert all(np.all(np.abs(W) <= 2.0) and np.all(np.isfinite(W)) for W in net.W)


def test_continuous_actions_map_the_output_layer_onto_the_bounds_bit_for_bit():
    """The compiled map (`kernels.bounded_actions`) is numpy's `low + (x + 1) * 0.5 * span`
    to the last bit, so continuous-action episodes are what they were."""
    info = env_info("BipedalWalker-v3")
    spec = GenomeSpec("weights+rules", (info.obs_dim, 16, info.act_dim))
    X = _population(spec, 9, seed=6)
    net = PlasticNetwork(spec, info, X)
    net.begin_episode(np.arange(9))
    obs = np.random.default_rng(7).standard_normal((9, info.obs_dim)) * 3
    actions = net.act(obs)
    x = net._acts[net._out].T
    low = np.asarray(info.action_low)
    expected = low + (x + 1.0) * 0.5 * (np.asarray(info.action_high) - low)
    assert actions.tobytes() == expected.tobytes()
    assert (actions >= low).all() and (actions <= info.action_high).all()


def test_weights_genome_does_not_learn():
    info = env_info("CartPole-v1")
    spec = GenomeSpec("weights", (4, 8, 8, 2))
    net = PlasticNetwork(spec, info, _population(spec, 3))
    before = [W.copy() for W in net.W]
    net.act(np.ones((3, 4)))
    net.learn(np.ones(3), np.ones(3, bool))
    assert all(np.array_equal(b, W) for b, W in zip(before, net.W, strict=True))


def test_worker_pool_scores_like_the_local_evaluator():
    spec = GenomeSpec("rules", (4, 8, 8, 2))
    X = _population(spec, 7, seed=9)
    settings = EvalSettings("CartPole-v1", spec)
    with Evaluator(settings, workers=0) as local, Evaluator(settings, workers=2) as pool:
        np.testing.assert_allclose(local.evaluate(X, [5, 6]).fitness,
                                   pool.evaluate(X, [5, 6]).fitness)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_cpu_counted_for_the_workers_includes_their_start_up():
    """The node's `cpu` log is the run's cost: a worker's imports and set-up (about a CPU
    second, against milliseconds for a CartPole generation) are part of it."""
    spec = GenomeSpec("weights", (4, 2))
    with Evaluator(EvalSettings("CartPole-v1", spec), workers=1) as pool:
        pool.evaluate(initial_vector(spec)[None, :], [1])
        fields = Path(f"/proc/{pool.worker_pids[0]}/stat").read_text().rsplit(")", 1)[1].split()
        spent = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        assert pool.worker_cpu >= 0.8 * spent > 0


@pytest.mark.parametrize("P, L, jobs", [(32, 1, 8), (3, 10, 8), (1, 50, 8), (1, 3, 8), (5, 1, 8),
                                         (9, 4, 8), (0, 5, 8)])
def test_work_is_split_so_every_lifetime_is_scored_once(P, L, jobs):
    for by_lifetime in (True, False):
        parts = split_work(P, L, jobs, by_lifetime)
        covered = np.zeros((P, L), dtype=int)
        for rows, lifetimes in parts:
            assert len(rows) and len(lifetimes)
            covered[np.ix_(rows, lifetimes)] += 1
        assert (covered == 1).all()
    assert len(split_work(P, L, jobs)) >= min(jobs, P * L)  # a lone genome keeps all busy
    assert len(split_work(P, L, jobs, by_lifetime=False)) == min(jobs, P)


def test_one_genome_split_over_workers_scores_like_the_local_evaluator():
    """A confirmation's shape (one genome, many lifetimes) is split by lifetime; lifetimes
    of several episodes keep their episodes together, so carried weights stay carried."""
    spec = GenomeSpec("rules", (4, 2), "threefactor")
    X = _population(spec, 1, seed=4)
    settings = EvalSettings("CartPole-v1", spec)
    seeds = np.arange(300, 300 + 12 * 3).reshape(12, 3)  # 12 lifetimes of 3 episodes
    with Evaluator(settings, workers=0) as local, Evaluator(settings, workers=2) as pool:
        np.testing.assert_array_equal(pool.episode_returns(X, seeds),
                                      local.episode_returns(X, seeds))
        three = _population(spec, 3, seed=5)
        np.testing.assert_array_equal(pool.evaluate(three, seeds[:5]).lifetimes,
                                      local.evaluate(three, seeds[:5]).lifetimes)


def test_workers_import_the_nodes_own_code_wherever_it_was_started(tmp_path, monkeypatch):
    """A worker is `python -c`, which puts the working directory first on sys.path: a node
    started next to another copy of the project must not score with that copy's code."""
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "__init__.py").write_text("raise ImportError('another envs')\n")
    monkeypatch.chdir(tmp_path)
    spec = GenomeSpec("weights", (4, 2))
    settings = EvalSettings("CartPole-v1", spec, max_steps=20)
    X = np.random.default_rng(0).standard_normal((3, spec.dim))
    with Evaluator(settings, workers=0) as local, Evaluator(settings, workers=1) as pool:
        np.testing.assert_array_equal(pool.evaluate(X, [1, 2]).fitness,
                                      local.evaluate(X, [1, 2]).fitness)


def test_unknown_environment_names_the_id():
    from envs import UnknownEnvironmentError

    with pytest.raises(UnknownEnvironmentError, match="NoSuchEnv-v9"):
        env_info("NoSuchEnv-v9")


def test_environment_without_box_observations_is_refused_by_name():
    from envs import UnknownEnvironmentError

    with pytest.raises(UnknownEnvironmentError, match="FrozenLake-v1.*Box observation"):
        env_info("FrozenLake-v1")


@pytest.mark.parametrize("family", ["hebbian", "oja"])
def test_no_plasticity_baseline_leaves_the_initial_weights_in_place(family):
    from envs.episodes import weight_seeds
    from island.lab.rule_study import baselines

    info = env_info("LunarLander-v3")
    spec = GenomeSpec("rules", (8, 16, 16, 4), family)
    evolved = _population(spec, 1, seed=11, scale=2.0)[0]
    evolved[spec.family.index("decay")] = -1.0  # the strongest decay a rule may evolve
    frozen = baselines(spec, evolved, n_random=0)["no plasticity"]
    net = PlasticNetwork(spec, info, frozen)
    net.reset(weight_seeds(np.array([3])))  # the initial weights run_lifetimes draws for seed 3
    before = [W.copy() for W in net.W]
    envs = [gym.make("LunarLander-v3")]
    run_lifetimes(envs, net, [3], max_steps=200)
    envs[0].close()
    for b, W in zip(before, net.W, strict=True):
        np.testing.assert_allclose(W, b, atol=0.02)  # eta floor 1e-6 still nudges a little


def _reference_lifetime(spec, info, x, observations, rewards, w_max=5.0):
    """The rule equations of DESIGN.md for one genome, written out plainly in numpy."""
    from envs.rule_kernels import REWARD_ALPHA, REWARD_CLIP
    from genome.layout import batch_rules, batch_weights

    layers = [(W[0].clip(-w_max, w_max), b[0].copy()) for W, b in batch_weights(spec, x)]
    rules = batch_rules(spec, x)[0]
    mean, var = 0.0, 1.0
    for obs, reward in zip(observations, rewards, strict=True):
        acts = [obs]
        for W, b in layers:
            acts.append(np.tanh(W @ acts[-1] + b))
        delta = reward - mean
        r = np.clip(delta / np.sqrt(var + 1e-8), -REWARD_CLIP, REWARD_CLIP)
        mean, var = mean + REWARD_ALPHA * delta, var + REWARD_ALPHA * (delta * delta - var)
        for layer, (W, _) in enumerate(layers):
            pre, post = acts[layer], acts[layer + 1]
            if spec.rule_family == "hebbian":
                eta, decay, A, B, C, D, M = rules[layer]
                dW = eta * (A * np.outer(post, pre) + B * pre[None, :] + C * post[:, None] + D)
            else:
                eta, decay, A, M = rules[layer]
                dW = eta * A * post[:, None] * (pre[None, :] - post[:, None] * W)
            W[:] = np.clip(W + dW * (1 + M * r) - decay * W, -w_max, w_max)
    return [W for W, _ in layers]


@pytest.mark.parametrize("family", ["hebbian", "oja"])
def test_compiled_network_follows_the_rule_equation_of_the_design(family):
    info = env_info("LunarLander-v3")
    spec = GenomeSpec("weights+rules", (8, 16, 8, 4), family)
    x = _population(spec, 1, seed=4, scale=1.0)[0]
    rng = np.random.default_rng(8)
    observations, rewards = rng.standard_normal((40, 8)), 3 * rng.standard_normal(40)
    net, net_before = PlasticNetwork(spec, info, x), PlasticNetwork(spec, info, x)
    for obs, reward in zip(observations, rewards, strict=True):
        net.act(obs[None, :])
        net.learn(np.array([reward]), np.ones(1, bool))
    expected = _reference_lifetime(spec, info, x, observations, rewards)
    assert not np.allclose(expected[0], net_before.W[0][0])  # the rule did act
    for W, W_ref in zip(net.W, expected, strict=True):  # tanh is float32-precise (kernels.py)
        np.testing.assert_allclose(W[0], W_ref, rtol=1e-5, atol=1e-7)


def test_shrunk_batch_learns_like_the_full_one_and_restores_every_row():
    info = env_info("LunarLander-v3")
    spec = GenomeSpec("weights+rules", (8, 16, 16, 4))
    X = _population(spec, 6, seed=3)
    full, shrunk = PlasticNetwork(spec, info, X), PlasticNetwork(spec, info, X)
    rng = np.random.default_rng(1)
    keep = np.array([1, 4, 5])
    for t in range(20):
        obs, reward = rng.standard_normal((6, 8)), rng.standard_normal(6)
        active = np.ones(6, bool) if t < 10 else np.isin(np.arange(6), keep)
        actions = full.act(obs)
        full.learn(reward, active)
        if t == 10:
            shrunk.shrink(keep)
        rows = slice(None) if t < 10 else keep
        np.testing.assert_array_equal(shrunk.act(obs[rows]), actions[rows])
        shrunk.learn(reward[rows], active[rows])
    assert shrunk.W[0].shape[0] == 3
    shrunk.restore()
    for W_full, W_shrunk in zip(full.W, shrunk.W, strict=True):
        np.testing.assert_allclose(W_shrunk, W_full, atol=1e-12)


def test_scaled_inputs_are_the_observations_standardised_by_a_random_policy():
    """`normalise_obs`: a network standardises what it sees by a random policy's statistics,
    measured on fixed episodes (so every process agrees), with a floor on the spread."""
    from envs.random_policy import MIN_STD, random_policy

    policy = random_policy("LunarLander-v3")
    random_policy.cache_clear()
    assert random_policy("LunarLander-v3") == policy  # the same numbers in any process
    assert min(policy.obs_std) >= MIN_STD and len(policy.obs_mean) == 8
    assert 0.5 < policy.obs_mean[1] < 1.5  # height: a random lander falls from ~1.4
    spec = GenomeSpec("weights+rules", (8, 16, 4))
    info = env_info("LunarLander-v3")
    X = _population(spec, 3, seed=4)
    obs = np.random.default_rng(5).standard_normal((3, 8))
    scaled, plain = PlasticNetwork(spec, info, X, inputs=policy), PlasticNetwork(spec, info, X)
    np.testing.assert_array_equal(scaled.act(obs), plain.act(policy.scale(obs)))
    scaled.learn(np.ones(3), np.ones(3, bool))
    plain.learn(np.ones(3), np.ones(3, bool))  # the rule sees the scaled inputs too
    assert all(np.array_equal(a, b) for a, b in zip(scaled.W, plain.W, strict=True))
    with Evaluator(EvalSettings("LunarLander-v3", spec, max_steps=30, normalise_obs=True),
                   workers=1) as pool, Evaluator(EvalSettings("LunarLander-v3", spec,
                                                              max_steps=30), workers=0) as raw:
        assert not np.array_equal(pool.evaluate(X, [3]).fitness, raw.evaluate(X, [3]).fitness)


@pytest.mark.parametrize("env_id", ["InvertedPendulum-v5", "Reacher-v5"])
def test_mujoco_environments_score_like_any_box_environment(env_id):
    """MuJoCo's tasks (gymnasium[mujoco]) are islands' environments too: sized from their
    spaces, scored in workers exactly as in process, the same seeds giving the same returns."""
    info = env_info(env_id)
    spec = GenomeSpec("rules", (info.obs_dim, 16, info.act_dim), "threefactor")
    X = _population(spec, 3, seed=6)
    settings = EvalSettings(env_id, spec, max_steps=60)
    with Evaluator(settings, workers=1) as pool, Evaluator(settings, workers=0) as local:
        scored = pool.evaluate(X, [7, 8]).fitness
        np.testing.assert_allclose(scored, local.evaluate(X, [7, 8]).fitness)
        other = local.evaluate(X, [9, 10]).fitness  # other seeds, other runs
        assert not np.array_equal(scored, other)
    assert scored.shape == (3,) and np.isfinite(scored).all()
