"""The baselines a rule is judged against: learning off, plasticity off, constant actions."""

import numpy as np

from envs import EvalSettings, Evaluator
from genome import GenomeSpec, initial_vector
from genome.layout import batch_rules
from genome.rules import PERTURBATION
from island.lab.rule_study import (
    LEARNING_OFF,
    PLASTICITY_OFF,
    HeldOutScore,
    baselines,
    constant_actions,
    score_held_out,
    verdict,
)


def test_learning_off_keeps_decay_and_perturbations_and_plasticity_off_keeps_only_the_latter():
    spec = GenomeSpec("rules", (8, 4), "perturbation")
    x = initial_vector(spec) + 0.2
    rows = baselines(spec, x, n_random=2)
    assert list(rows) == ["evolved", "random rule 1", "random rule 2", LEARNING_OFF,
                          PLASTICITY_OFF]
    natural = {name: batch_rules(spec, row)[0] for name, row in rows.items()}
    eta, decay, jitter = (PERTURBATION.index(n) for n in ("eta", "decay", "jitter"))
    for name in (LEARNING_OFF, PLASTICITY_OFF):
        assert natural[name][0, eta] == 1e-6
        assert natural[name][0, jitter] == natural["evolved"][0, jitter]  # noise is policy
    assert natural[LEARNING_OFF][0, decay] == natural["evolved"][0, decay]
    assert natural[PLASTICITY_OFF][0, decay] == 1e-8


def test_each_constant_action_acts_the_same_whatever_it_sees():
    settings = EvalSettings("CartPole-v1", GenomeSpec("rules", (4, 2), "recurrent"))
    policies = constant_actions(settings)
    assert [name for name, _, _ in policies] == ["constant action 0", "constant action 1"]
    for _, constant, x in policies:
        with Evaluator(constant, 0) as ev:
            score = score_held_out(ev, "c", x, 20, 1)
        assert score.max <= 12  # always pushing one way drops the pole within a dozen steps
        assert score.lifetimes == 20  # what a transfer matrix's standard errors divide by
    (name, constant, x), = constant_actions(EvalSettings(
        "Pendulum-v1", GenomeSpec("rules", (3, 1), "recurrent")))
    assert name == "constant zeros"
    with Evaluator(constant, 0) as ev:
        zero_torque = score_held_out(ev, "c", x, 10, 1)
    assert zero_torque.mean < -100  # hanging down, untouched


def _row(name, mean, stderr):
    return HeldOutScore(name, mean, 0.0, stderr, mean, mean, [mean], [0.0])


def test_a_rule_beats_its_baselines_only_when_it_beats_every_one_by_two_standard_errors():
    rows = [_row("evolved", 100, 4), _row("random rule 1", 50, 4), _row(LEARNING_OFF, 90, 4),
            _row("constant action 0", 9, 0)]
    judged = verdict(rows)  # 10 above learning off is 1.8 standard errors of the difference
    assert judged.comparisons == 3 and not judged.beats_all
    assert judged.closest == LEARNING_OFF and np.isclose(judged.closest_z, 10 / np.hypot(4, 4))
    rows[2] = _row(LEARNING_OFF, 80, 4)
    assert verdict(rows).beats_all and verdict(rows).closest == LEARNING_OFF
