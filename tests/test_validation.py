"""A round at the target whose winner fails confirmation: its runners-up get their own.

The scores are a formula, as in tests/test_node_in_process.py: each genome (a row whose
first number names it) has a round score, what 10 lucky lifetimes said, and a true mean
its fresh lifetimes scatter around (a spread of 40)."""

from __future__ import annotations

import numpy as np

from island.champion import Champion
from island.config import config_from_mapping
from island.stopping import StopCriteria
from island.validation import Validation

ROUND = {0: 230.0, 1: 260.0, 2: 120.0}  # the mean, the best sample, the old champion
TRUE = {0: 250.0, 1: 150.0, 2: 260.0}  # the lucky sample is the worst of them


def validation(runners_up: bool) -> tuple[Validation, Champion, list[tuple[str, dict]]]:
    config = config_from_mapping({"evaluation": {"confirm_runners_up": runners_up}})
    champion = Champion(x=np.array([2.0, 0.0]), score=120.0, predicted_for=100)
    champion.observe(np.array([1.0, 0.0]), 300.0)
    rng = np.random.default_rng(3)

    def score(X: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        return np.array([ROUND[int(x[0])] for x in X])

    def lifetime_scores(X: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        return np.array([TRUE[int(x[0])] + 40.0 * rng.standard_normal(seeds.size) for x in X])

    events: list[tuple[str, dict]] = []
    check = Validation(config, StopCriteria(target=200.0), champion, score, lifetime_scores,
                       lambda n: np.arange(n), lambda kind, **fields: events.append((kind, fields)))
    return check, champion, events


def test_a_runner_up_at_the_target_is_confirmed_when_the_winner_fails_and_becomes_champion():
    check, champion, events = validation(runners_up=True)
    check.round(np.zeros(2), generation=5)
    confirmations = [(f["candidate"], kind) for kind, f in events if "bound" in f]
    # the sample won the round and failed; the mean (230 in the round) is confirmed next;
    # the old champion (120 in the round) is below the target and not tried
    assert confirmations == [(None, "confirmation_failed"), ("mean", "champion_confirmed")]
    assert champion.origin == "mean" and champion.x[0] == 0.0 and champion.score == 230.0
    assert champion.confirmed >= 200.0 and len(champion.confirmations) == 50
    assert [kind for kind, _ in events].count("champion") == 1


def test_without_the_option_only_the_winner_is_confirmed():
    check, champion, events = validation(runners_up=False)
    check.round(np.zeros(2), generation=5)
    assert [kind for kind, f in events if "bound" in f] == ["confirmation_failed"]
    assert champion.origin == "sample" and champion.confirmed < 200.0
