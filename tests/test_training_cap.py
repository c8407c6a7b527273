"""A cap on training episodes: it shortens what CMA-ES ranks, never what is reported."""

import gymnasium as gym
import numpy as np
import pytest

from envs import EvalSettings, Evaluator
from genome import GenomeSpec
from island.config import ConfigError, config_from_mapping
from island.record import CapLifted, read_events, read_generations
from tests.conftest import run_cli

CAP = 20  # LunarLander's lander is still falling then: no episode ends sooner


def test_a_capped_call_ends_every_episode_at_the_cap_and_an_uncapped_one_plays_on():
    """`cap` ends training episodes after CAP steps, in this process and in a worker alike;
    a plain gymnasium loop of the same policy, stopped at CAP, is the reference."""
    settings = EvalSettings("LunarLander-v3", GenomeSpec("weights", (8, 4)),
                            simulator="gymnasium")
    X = np.zeros((2, settings.spec.dim))  # row 0: always action 0, it falls and crashes
    X[1] = np.random.default_rng(3).normal(0.0, 0.5, settings.spec.dim)
    seeds = [11, 12]
    with Evaluator(settings, workers=0) as local, Evaluator(settings, workers=1) as pool:
        capped = local.evaluate(X, seeds, cap=CAP).fitness
        assert local.steps == 2 * 2 * CAP
        true = local.evaluate(X, seeds).fitness
        assert local.steps > 2 * (2 * 2 * CAP)  # the uncapped call played on
        np.testing.assert_array_equal(pool.evaluate(X, seeds, cap=CAP).fitness, capped)
        assert pool.steps == 2 * 2 * CAP
    env = gym.make("LunarLander-v3")
    returns = []
    for seed in seeds:  # the zero network, by hand, for CAP steps
        env.reset(seed=seed)
        returns.append(sum(env.step(0)[1] for _ in range(CAP)))
    assert capped[0] == pytest.approx(np.mean(returns))
    assert true[0] != pytest.approx(capped[0])  # the crash came after the cap


def test_a_node_caps_its_generations_and_not_its_champion_rounds(tmp_path):
    """Generation 1 has no round: its steps are exactly popsize x CAP. Generation 2's
    round plays its 3 candidates x 3 lifetimes to their ends, past the cap."""
    run = tmp_path / "run"
    result = run_cli("island-node", "--env", "LunarLander-v3", "--kind", "weights",
                     "--hidden", "4", "--popsize", "8", "--episodes", "1",
                     "--max-generations", "2", "--validate-every", "2",
                     "--validation-episodes", "3", "--confirm-episodes", "0",
                     "--final-episodes", "4", "--train-max-steps", str(CAP), "--seed", "1",
                     "--workers", "1", "--quiet", "--run-dir", str(run))
    assert result.returncode == 0, result.stderr
    assert f"train_max_steps = {CAP}" in (run / "config.toml").read_text()
    first, second = read_generations(run / "log.jsonl")
    assert first.steps == 8 * CAP
    round_steps = second.steps - first.steps - 8 * CAP
    assert round_steps > 3 * 3 * CAP


def test_a_negative_training_cap_is_refused():
    with pytest.raises(ConfigError, match=r"^evaluation.train_max_steps "
                       r"\(--train-max-steps\): must be 0"):
        config_from_mapping({"evaluation": {"train_max_steps": -1}})


def test_the_cap_lifts_for_good_once_a_champion_round_scores_its_until(tmp_path):
    """With `--train-max-steps-until` below any score, the first round (generation 2) lifts
    the cap: generations 1-2 are capped (8 x CAP steps each), generation 3 is not, and the
    run says so once, in its events and its console line."""
    run = tmp_path / "run"
    result = run_cli("island-node", "--env", "LunarLander-v3", "--kind", "weights",
                     "--hidden", "4", "--popsize", "8", "--episodes", "1",
                     "--max-generations", "3", "--validate-every", "2",
                     "--validation-episodes", "3", "--confirm-episodes", "0",
                     "--final-episodes", "0", "--train-max-steps", str(CAP),
                     "--train-max-steps-until", "-100000", "--seed", "1",
                     "--workers", "1", "--run-dir", str(run))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("training episode cap lifted") == 1
    first, second, third = read_generations(run / "log.jsonl")
    assert first.steps == 8 * CAP
    assert third.steps - second.steps > 8 * CAP  # uncapped: the landers fall past step 20
    lifted = [e for e in read_events(run / "events.jsonl") if isinstance(e, CapLifted)]
    assert [e.generation for e in lifted] == [2]


def test_lifting_a_cap_that_is_not_set_is_refused():
    with pytest.raises(ConfigError, match=r"^evaluation.train_max_steps_until "
                       r"\(--train-max-steps-until\): needs train_max_steps"):
        config_from_mapping({"evaluation": {"train_max_steps_until": 200.0}})


def test_the_cap_lifts_at_the_latest_by_its_share_of_the_budget(tmp_path):
    """With no round to lift it (`--validate-every` beyond the run), a share of 0.5 of four
    generations lifts the cap after generation 2: generations 1-2 play popsize x CAP steps,
    3 and 4 play on; the event and the console line say the budget lifted it."""
    run = tmp_path / "run"
    result = run_cli("island-node", "--env", "LunarLander-v3", "--kind", "weights",
                     "--hidden", "4", "--popsize", "8", "--episodes", "1",
                     "--max-generations", "4", "--validate-every", "100",
                     "--final-episodes", "0", "--train-max-steps", str(CAP),
                     "--train-max-steps-until", "200", "--train-max-steps-share", "0.5",
                     "--seed", "1", "--workers", "1", "--run-dir", str(run))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("training episode cap lifted: 50% of the budget spent") == 1
    first, second, third, _ = read_generations(run / "log.jsonl")
    assert first.steps == 8 * CAP and second.steps == 2 * 8 * CAP
    assert third.steps - second.steps > 8 * CAP
    lifted = [e for e in read_events(run / "events.jsonl") if isinstance(e, CapLifted)]
    assert [(e.generation, e.by, e.spent) for e in lifted] == [(2, "budget", 0.5)]


@pytest.mark.parametrize("share", [0.0, 1.5])
def test_a_share_of_the_budget_outside_0_to_1_is_refused(share):
    with pytest.raises(ConfigError, match=r"^evaluation.train_max_steps_share "
                       r"\(--train-max-steps-share\): must be above 0"):
        config_from_mapping({"evaluation": {"train_max_steps": 600,
                                            "train_max_steps_share": share}})
