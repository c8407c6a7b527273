"""A rule scored on several environments at once, each return normalised to random=0, solved=1."""

import numpy as np
import pytest

from envs import EvalSettings, Evaluator
from envs.multi import MultiEnvEvaluator, return_scale, specs_for_envs
from genome import initial_vector


def test_random_and_solved_levels_come_from_the_environment():
    cart = return_scale("CartPole-v1")
    assert cart.solved == 475.0 and 15 < cart.random < 35  # random actions: ~22 steps
    assert cart.normalise(np.array([cart.random, 475.0])).tolist() == [0.0, 1.0]
    pendulum = return_scale("Pendulum-v1")  # no reward_threshold in its spec
    assert pendulum.solved > pendulum.random


def test_one_rule_drives_a_network_per_environment_and_scores_are_normalised():
    envs = ["CartPole-v1", "MountainCarContinuous-v0"]
    specs = specs_for_envs("rules", [4], "threefactor", envs)
    assert specs[0].layer_sizes == (4, 4, 2) and specs[1].layer_sizes == (2, 4, 1)
    X = initial_vector(specs[0]) + 0.3 * np.random.default_rng(1).standard_normal((3, 24))
    seeds = [[5, 6]]  # one lifetime of two episodes
    settings = [EvalSettings(e, s, max_steps=60, lifetime_fitness="mean")
                for e, s in zip(envs, specs, strict=True)]
    with MultiEnvEvaluator(settings, workers=0) as multi:
        fitness = multi.evaluate(X, seeds).fitness
        assert multi.env_ids == envs and multi.steps > 0
    with MultiEnvEvaluator(settings, workers=0, across="min") as multi:
        worst = multi.evaluate(X, seeds).fitness
    expected = []
    for s in settings:
        with Evaluator(s, workers=0) as single:
            expected.append(return_scale(s.env_id).normalise(single.evaluate(X, seeds).fitness))
    np.testing.assert_allclose(fitness, np.mean(expected, axis=0))
    np.testing.assert_allclose(worst, np.min(expected, axis=0))
    assert not np.allclose(worst, fitness)  # the two choices differ on these rules


def test_a_lifetime_scores_across_environments_as_training_ranks_it():
    """What a champion's confirmation pools, one score per lifetime: the mean of its
    normalised scores in the environments (or the lowest, for `min`), never one
    environment's alone."""
    envs = ["CartPole-v1", "MountainCarContinuous-v0"]
    specs = specs_for_envs("rules", [], "threefactor", envs)
    X = initial_vector(specs[0])[None] + 0.3
    seeds = [[5, 6], [7, 8], [9, 10]]  # three lifetimes of two episodes
    settings = [EvalSettings(e, s, max_steps=60, lifetime_fitness="mean")
                for e, s in zip(envs, specs, strict=True)]
    per_env = []
    for s in settings:
        with Evaluator(s, workers=0) as single:
            per_env.append(return_scale(s.env_id).normalise(single.evaluate(X, seeds).lifetimes))
    assert per_env[0].shape == (1, 3) and not np.allclose(per_env[0], per_env[1])
    with MultiEnvEvaluator(settings, workers=0) as multi:
        scores = multi.evaluate(X, seeds).lifetimes
        np.testing.assert_allclose(scores, np.mean(per_env, axis=0))
        np.testing.assert_allclose(multi.evaluate(X, seeds).fitness, scores.mean(axis=1))
    with MultiEnvEvaluator(settings, workers=0, across="min") as multi:
        np.testing.assert_allclose(multi.evaluate(X, seeds).lifetimes, np.min(per_env, axis=0))


def test_an_unknown_choice_across_environments_is_refused():
    settings = [EvalSettings("CartPole-v1", specs_for_envs("rules", [], "threefactor",
                                                           ["CartPole-v1"])[0])]
    with pytest.raises(ValueError, match="'max'.*known: mean, min"):
        MultiEnvEvaluator(settings, workers=0, across="max")


def test_genomes_of_different_lengths_cannot_share_an_island():
    specs = specs_for_envs("weights+rules", [4], "hebbian", ["CartPole-v1", "Acrobot-v1"])
    with pytest.raises(ValueError, match="only 'rules' genomes"):
        MultiEnvEvaluator([EvalSettings(e, s) for e, s in
                           zip(["CartPole-v1", "Acrobot-v1"], specs, strict=True)], workers=0)
