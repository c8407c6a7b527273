"""The champion is chosen on shared validation seeds, not on the luckiest training score."""

import numpy as np
import pytest

from island.champion import CONFIDENCE_Z, Champion
from island.plain import from_plain, to_plain


def test_first_round_compares_the_mean_with_the_best_recent_sample():
    champion = Champion()
    champion.observe(np.ones(3), 10.0)
    champion.observe(np.full(3, 2.0), 5.0)  # a worse sample does not replace the best one
    labels, X = champion.candidates(np.zeros(3))
    assert labels == ["mean", "sample"]
    np.testing.assert_array_equal(X, [np.zeros(3), np.ones(3)])
    assert champion.decide(labels, X, np.array([7.0, 3.0]), generation=5)
    assert champion.origin == "mean" and champion.score == 7.0
    np.testing.assert_array_equal(champion.x, np.zeros(3))


def test_a_lucky_champion_is_unseated_on_shared_seeds():
    champion = Champion(x=np.full(2, 9.0), score=300.0, generation=5, origin="sample")
    champion.observe(np.ones(2), 80.0)
    labels, X = champion.candidates(np.zeros(2))
    assert labels == ["mean", "sample", "champion"]
    # Its 300 came from lucky seeds; on this round's seeds it is the weakest.
    assert champion.decide(labels, X, np.array([120.0, 90.0, -40.0]), generation=10)
    assert champion.score == 120.0 and champion.generation == 10
    assert champion.challenger is None  # the next window starts empty


def test_a_champion_that_wins_again_keeps_its_origin():
    champion = Champion(x=np.full(2, 9.0), score=150.0, generation=5, origin="sample")
    labels, X = champion.candidates(np.zeros(2))
    assert not champion.decide(labels, X, np.array([100.0, 160.0]), generation=10)
    assert champion.origin == "sample" and champion.score == 160.0
    np.testing.assert_array_equal(champion.x, np.full(2, 9.0))


def test_a_tie_keeps_the_champion_and_its_confirmations():
    champion = Champion(x=np.full(2, 9.0), score=500.0, generation=5, origin="sample",
                        confirmations=[500.0, 480.0])
    champion.observe(np.ones(2), 500.0)
    labels, X = champion.candidates(np.zeros(2))
    assert not champion.decide(labels, X, np.array([500.0, 500.0, 500.0]), generation=10)
    np.testing.assert_array_equal(champion.x, np.full(2, 9.0))
    assert champion.confirmations == [500.0, 480.0] and champion.generation == 10


def test_a_champion_is_confirmed_by_its_pooled_fresh_scores_less_some_standard_errors():
    champion = Champion(x=np.zeros(2), score=230.0, predicted_for=0)  # its true mean only
    assert champion.confirmed == -np.inf  # nothing measured yet: no claim
    champion.confirm(np.tile([250.0, 150.0], 25))
    champion.confirm(np.tile([250.0, 150.0], 25))  # pooled: 100 lifetimes
    spread = np.std(np.tile([250.0, 150.0], 50), ddof=1)
    assert champion.confirmed == pytest.approx(200.0 - CONFIDENCE_Z * spread / 10)
    labels, X = champion.candidates(np.ones(2))
    champion.decide(labels, X, np.array([240.0, 100.0]), generation=10)  # the mean won
    assert champion.confirmations == [] and champion.confirmed == -np.inf


def test_confirmations_survive_a_checkpoint():
    champion = Champion(x=np.zeros(2), score=230.0, confirmations=[210.0, 230.0])
    assert from_plain(Champion, to_plain(champion)).confirmed == champion.confirmed


def test_a_confirmation_is_inconclusive_while_more_lifetimes_could_still_confirm_it():
    champion = Champion(x=np.zeros(2), score=230.0)
    assert champion.inconclusive(200.0)  # nothing measured: go on
    champion.confirm(np.tile([330.0, 150.0], 2))  # mean 240, std 104: bound far below 200
    assert champion.inconclusive(200.0)  # an endless pool would reach 240 - 3 x 10.4
    assert not champion.inconclusive(210.0)  # ... but not 210: no more episodes spent on it
    champion.confirm(np.tile([330.0, 150.0], 200))  # a long pool: 404 lifetimes
    assert champion.confirmed >= 200.0 and not champion.inconclusive(200.0)


def test_the_bound_predicts_the_held_out_mean_so_a_long_pool_does_not_creep_up_to_its_mean():
    """Tuning seed 112: 350 lifetimes, mean 214.7, std about 110; 100 held-out ones: 190.4."""
    scores = np.tile([214.7 + 110.0, 214.7 - 110.0], 175)
    true_mean = Champion(x=np.zeros(2), confirmations=list(scores), predicted_for=0)
    held_out = Champion(x=np.zeros(2), confirmations=list(scores), predicted_for=100)
    assert true_mean.confirmed > 195.0  # the old bound: nearly confirmed
    assert held_out.confirmed < 180.0  # 3 x 110 x sqrt(1/350 + 1/100) below the mean
    # however long the pool, the held-out sample's own spread remains
    endless = Champion(x=np.zeros(2), confirmations=list(np.tile(scores, 100)))
    assert endless.confirmed < 214.7 - 3 * 110.0 / 10 + 1


def test_a_pool_that_all_scored_alike_does_not_confirm_until_it_is_long():
    """Seen: 50 CartPole lifetimes all at 500 (std 0) confirmed a champion whose 100
    held-out lifetimes scored 471.7; 3/50 of them could have fallen unseen."""
    champion = Champion(x=np.zeros(2), score=500.0)
    champion.confirm(np.full(50, 500.0))
    assert champion.confirmed < 475.0 and champion.inconclusive(475.0)  # so it goes on
    champion.confirm(np.full(50, 500.0))
    assert champion.confirmed < 475.0 and champion.inconclusive(475.0)  # 100: not yet
    champion.confirm(np.full(50, 500.0))  # 150 lifetimes: 3/150 cannot cost 25
    assert champion.confirmed >= 475.0 and not champion.inconclusive(475.0)


def test_the_best_round_is_remembered_when_a_later_round_scores_lower_and_survives_a_resume():
    """The plateau rescue asks whether a run has ever left the plateau: a champion's
    10-lifetime score is noisy, so a later unlucky round must not erase an earlier 113."""
    champion = Champion()
    labels, X = champion.candidates(np.zeros(2))
    champion.decide(labels, X, np.array([113.0]), generation=5)
    labels, X = champion.candidates(np.ones(2))
    champion.decide(labels, X, np.array([-20.0, -13.0]), generation=10)  # kept, rescored
    assert champion.score == -13.0 and champion.best_round == 113.0
    assert from_plain(Champion, to_plain(champion)).best_round == 113.0


def test_the_highest_confirmed_bound_is_kept_when_a_luckier_champion_unseats_it():
    """BipedalWalker's end game: a genome confirmed at 306 on 200 lifetimes was unseated by
    round winners whose 50-lifetime pools said less; `keep` remembers it, and survives a
    checkpoint."""
    champion = Champion(predicted_for=100)
    labels, X = champion.candidates(np.zeros(2))
    champion.decide(labels, X, np.array([307.0]), generation=570)
    assert not champion.keep()  # no confirmation yet: nothing to keep
    champion.confirm(np.tile([336.0, 276.0], 100))  # mean 306, std 30, 200 lifetimes
    assert champion.keep()
    first_bound = champion.kept_bound
    assert first_bound == champion.confirmed and champion.kept_lifetimes == 200
    labels, X = champion.candidates(np.ones(2))
    assert champion.decide(labels, X, np.array([311.0, 300.0]), generation=575)  # the mean
    champion.confirm(np.tile([340.0, 270.0], 25))  # mean 305 on 50: a lower bound
    assert champion.confirmed < first_bound and not champion.keep()
    np.testing.assert_array_equal(champion.kept, np.zeros(2))
    assert (champion.kept_mean, champion.kept_generation) == (306.0, 570)
    resumed = from_plain(Champion, to_plain(champion))
    np.testing.assert_array_equal(resumed.kept, np.zeros(2))
    assert resumed.kept_bound == first_bound
    champion.confirm(np.tile([320.0, 290.0], 200))  # 450 at 305, a narrower spread: it beats 306
    assert champion.keep() and champion.kept_generation == 575
