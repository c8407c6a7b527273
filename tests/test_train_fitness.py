"""A training fitness across lifetimes other than their mean: what CMA-ES ranks, never what
is reported."""

import numpy as np
import pytest

from envs.episodes import across_lifetimes
from island.config import ConfigError, config_from_mapping
from island.record import read_generations
from tests.conftest import run_cli


def test_the_lower_quarter_is_the_mean_of_each_genomes_worst_quarter_of_lifetimes():
    lifetimes = np.array([[5.0, -3.0, 9.0, 1.0, 7.0, -8.0, 2.0, 4.0],
                          [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(across_lifetimes(lifetimes, "lower_quarter"), [-5.5, 1.0])
    np.testing.assert_array_equal(across_lifetimes(lifetimes, "mean"), [2.125, 1.0])
    assert across_lifetimes(np.array([[3.0, -1.0, 4.0]]), "lower_quarter")[0] == -1.0


def _first_generation(tmp_path, how: str):
    run = tmp_path / how
    result = run_cli("island-node", "--env", "CartPole-v1", "--kind", "rules",
                     "--hidden", "", "--popsize", "8", "--episodes", "8", "--lifetime", "2",
                     "--max-generations", "1", "--validate-every", "100",
                     "--final-episodes", "0", "--train-fitness", how,
                     "--seed", "3", "--workers", "1", "--run-dir", str(run))
    assert result.returncode == 0, result.stderr
    return read_generations(run / "log.jsonl")[0]


def test_a_node_ranks_by_the_worst_quarter_of_lifetimes_when_asked(tmp_path):
    """The same samples on the same lifetimes (one seed): each genome's worst quarter of its
    8 random-weight lifetimes is below its mean, so the generation's best and mean are too."""
    mean = _first_generation(tmp_path, "mean")
    worst = _first_generation(tmp_path, "lower_quarter")
    assert (worst.evaluations, worst.steps) == (mean.evaluations, mean.steps)
    assert worst.gen_best < mean.gen_best and worst.mean < mean.mean


def test_an_unknown_training_fitness_is_refused_naming_the_flag():
    with pytest.raises(ConfigError, match=r"^evaluation.train_fitness \(--train-fitness\): "
                       r"'median' is not one of mean, lower_quarter"):
        config_from_mapping({"evaluation": {"train_fitness": "median"}})
