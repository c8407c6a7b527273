"""The `perturbation` family: `learned` with its rule network fixed, six scalars evolved."""

import numpy as np
import pytest

from envs import EvalSettings, Evaluator
from genome import GenomeSpec, initial_vector
from genome.layout import batch_rules, rule_slice
from genome.rules import LEARNED, PERTURBATION, get_family


def _as_learned(x: np.ndarray, spec: GenomeSpec, learned: GenomeSpec) -> np.ndarray:
    """The `learned` genome that acts as the `perturbation` genome `x` (rules only)."""
    out = np.tile(LEARNED.initial_search(), learned.n_layers)
    rules = x[rule_slice(spec)].reshape(spec.n_layers, PERTURBATION.n_params)
    for layer in range(spec.n_layers):
        for k, name in enumerate(PERTURBATION.names):
            out[layer * LEARNED.n_params + LEARNED.index(name)] = rules[layer, k]
    return out


def test_six_scalars_evolve_and_the_rest_is_learned_at_its_hand_set_values():
    assert PERTURBATION.names == ("eta", "decay", "noise", "baseline", "jitter", "anneal")
    assert get_family("perturbation").kernel_family is LEARNED
    spec = GenomeSpec("rules", (4, 3, 2), "perturbation")
    x = initial_vector(spec) + 0.3 * np.arange(spec.dim)
    natural = batch_rules(spec, x)  # (1, 2 layers, 6)
    kernel = PERTURBATION.kernel_rules(natural)
    assert kernel.shape == (1, 2, LEARNED.n_params)
    for k, name in enumerate(PERTURBATION.names):
        np.testing.assert_array_equal(kernel[..., LEARNED.index(name)], natural[..., k])
    assert kernel[0, 1, LEARNED.index("return.delta")] == 1.0
    assert kernel[0, 1, LEARNED.index("trace")] == pytest.approx(0.99)
    assert kernel[0, 1, LEARNED.index("return.e_noise")] == 0.0


def test_a_perturbation_rule_learns_exactly_as_the_learned_rule_it_stands_for():
    spec = GenomeSpec("rules", (4, 2), "perturbation")
    learned = GenomeSpec("rules", (4, 2), "learned")
    x = initial_vector(spec) + 0.2 * np.random.default_rng(3).standard_normal(spec.dim)
    seeds = np.arange(9000, 9000 + 8 * 20).reshape(8, 20)
    with Evaluator(EvalSettings("CartPole-v1", spec), workers=0) as ev:
        ours = ev.episode_returns(x[None, :], seeds)[0]
    with Evaluator(EvalSettings("CartPole-v1", learned), workers=0) as ev:
        theirs = ev.episode_returns(_as_learned(x, spec, learned)[None, :], seeds)[0]
    np.testing.assert_array_equal(ours, theirs)
    assert ours[:, -5:].mean() > 1.5 * ours[:, 0].mean()  # and it does learn
