"""A floor under training rewards: it shapes what CMA-ES ranks, never what is reported."""

import gymnasium as gym
import numpy as np
import pytest

from envs import EvalSettings, Evaluator
from genome import GenomeSpec
from island.config import ConfigError, config_from_mapping
from island.record import Champion, FloorLifted, of_kind, read_events, read_generations
from tests.conftest import run_cli


def test_a_reward_floor_shapes_training_fitness_and_no_other_score():
    """`train_reward_floor` counts a step's reward below it as the floor, in training
    fitness only; a plain gymnasium loop of the same policy is the reference."""
    settings = EvalSettings("LunarLander-v3", GenomeSpec("weights", (8, 4)),
                            simulator="gymnasium")
    X = np.zeros((2, settings.spec.dim))  # row 0: logits 0, so always action 0 (no engine)
    X[1] = np.random.default_rng(3).normal(0.0, 0.5, settings.spec.dim)
    seeds = [11, 12]
    with Evaluator(settings, workers=0) as local, Evaluator(settings, workers=1) as pool:
        true = local.evaluate(X, seeds).fitness
        shaped = local.evaluate(X, seeds, floor=-1.0).fitness
        np.testing.assert_array_equal(pool.evaluate(X, seeds, floor=-1.0).fitness, shaped)
        np.testing.assert_array_equal(pool.evaluate(X, seeds).fitness, true)
    env = gym.make("LunarLander-v3")
    plain, floored = [], []
    for seed in seeds:  # the zero network, by hand: it never fires an engine and crashes
        env.reset(seed=seed)
        rewards, done = [], False
        while not done:
            _, r, terminated, truncated, _ = env.step(0)
            rewards.append(r)
            done = terminated or truncated
        plain.append(sum(rewards))
        floored.append(sum(max(r, -1.0) for r in rewards))
    assert rewards[-1] == -100.0  # the crash, which the floor counts as -1
    assert true[0] == pytest.approx(np.mean(plain))
    assert shaped[0] == pytest.approx(np.mean(floored))
    assert shaped[1] >= true[1]


def run_lander(run, generations: int, *flags: str) -> None:
    """A small LunarLander node whose training rewards are floored at 0."""
    result = run_cli("island-node", "--env", "LunarLander-v3", "--kind", "weights",
                     "--hidden", "4", "--popsize", "8", "--max-generations", str(generations),
                     "--validate-every", "2", "--validation-episodes", "3",
                     "--confirm-episodes", "0", "--final-episodes", "4",
                     "--train-reward-floor", "0", *flags, "--seed", "1", "--workers", "1",
                     "--quiet", "--run-dir", str(run))
    assert result.returncode == 0, result.stderr


def test_a_node_ranks_on_floored_rewards_and_picks_its_champion_on_true_ones(tmp_path):
    run = tmp_path / "run"
    run_lander(run, 4)
    assert "train_reward_floor = 0.0" in (run / "config.toml").read_text()
    log = read_generations(run / "log.jsonl")
    assert all(r.gen_best >= 0 and r.mean >= 0 for r in log)  # no reward below 0 counts
    champions = of_kind(read_events(run / "events.jsonl"), Champion)
    assert champions and all(e.score < 0 for e in champions)  # true returns: it crashes
    assert all(r.champion < 0 for r in log if r.champion is not None)


def test_the_floor_lifts_for_good_once_a_round_has_scored_its_bar(tmp_path):
    """With `--train-reward-floor-until`, rounds after the bar rank on true rewards."""
    run = tmp_path / "run"
    run_lander(run, 6, "--train-reward-floor-until", "-1000")
    lifted = of_kind(read_events(run / "events.jsonl"), FloorLifted)
    assert [e.generation for e in lifted] == [2]  # the first round clears -1000, once
    log = read_generations(run / "log.jsonl")
    assert all(r.mean >= 0 for r in log if r.generation <= 2)  # floored
    assert all(r.mean < 0 for r in log if r.generation > 2)  # true: the nets crash


def test_a_floor_to_lift_must_exist():
    with pytest.raises(ConfigError, match=r"^evaluation.train_reward_floor_until "
                       r"\(--train-reward-floor-until\): needs train_reward_floor"):
        config_from_mapping({"evaluation": {"train_reward_floor_until": 200.0}})
