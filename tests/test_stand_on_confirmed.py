"""`stand_on_confirmed`: a run stands behind its best-confirmed genome, not a lucky round's."""

import numpy as np

from envs import EvalSettings, Evaluator
from genome import GenomeSpec
from island.champion import Champion
from island.cmaes_island import Island
from island.config import config_from_mapping
from island.stopping import StopCriteria
from island.validation import Validation


def validation(stand: bool, evaluator: Evaluator, champion: Champion) -> Validation:
    """The validation of a CartPole island at a target of 300, as a node builds it."""
    config = config_from_mapping({"evaluation": {"env": "CartPole-v1", "kind": "weights",
                                                 "stand_on_confirmed": stand}})
    rng = np.random.default_rng(5)
    return Validation(config, StopCriteria(target=300.0), champion,
                      lambda X, seeds: evaluator.evaluate(X, seeds).fitness,
                      lambda X, seeds: evaluator.evaluate(X, seeds).lifetimes,
                      lambda n: rng.integers(0, 2**31, n), lambda kind, **fields: None)


def test_the_run_stands_behind_the_kept_genome_only_when_asked_and_only_while_it_is_better():
    settings = EvalSettings("CartPole-v1", GenomeSpec("weights", (4, 2)), simulator="gymnasium")
    island = Island(np.zeros(settings.spec.dim), 0.5, 8, seed=1)
    champion = Champion(predicted_for=100)
    labels, X = champion.candidates(np.zeros(settings.spec.dim))
    champion.decide(labels, X, np.array([310.0]), generation=10)
    champion.confirm(np.tile([330.0, 282.0], 100))  # mean 306 on 200 lifetimes
    champion.keep()
    labels, X = champion.candidates(np.ones(settings.spec.dim))
    champion.decide(labels, X, np.array([312.0, 300.0]), generation=15)  # a luckier mean
    champion.confirm(np.tile([350.0, 250.0], 25))  # mean 300 on 50, a wide spread
    with Evaluator(settings, workers=0) as evaluator:
        x, score, generation = validation(True, evaluator, champion).best(island)
        np.testing.assert_array_equal(x, np.zeros(settings.spec.dim))
        assert (score, generation) == (306.0, 10)  # scored by its confirmation mean
        x, score, generation = validation(False, evaluator, champion).best(island)
        np.testing.assert_array_equal(x, np.ones(settings.spec.dim))  # the default: the round
        assert (score, generation) == (312.0, 15)
        champion.confirm(np.tile([320.0, 300.0], 200))  # the champion now confirms higher
        assert champion.confirmed > champion.kept_bound
        x, _, generation = validation(True, evaluator, champion).best(island)
        np.testing.assert_array_equal(x, np.ones(settings.spec.dim))
