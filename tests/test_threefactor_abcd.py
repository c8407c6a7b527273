"""The `threefactor-abcd` family: threefactor with its unsupervised terms at hebbian's scale."""

import numpy as np

from envs import EvalSettings, Evaluator
from genome import GenomeSpec, decode_genome, encode_genome, initial_vector
from genome.layout import batch_rules, rule_slice
from genome.rules import HEBBIAN, THREEFACTOR, UNSUPERVISED, get_family

ABCD = get_family("threefactor-abcd")


def test_same_parameters_and_kernels_as_threefactor_with_abcd_in_units_of_one():
    assert ABCD.names == THREEFACTOR.names and ABCD.kernel_family is THREEFACTOR
    assert ABCD.initial_with_weights == THREEFACTOR.initial_with_weights == {"eta": 0.01}
    spec = GenomeSpec("weights+rules", (4, 3, 2), "threefactor-abcd")
    x = initial_vector(spec) + 0.3 * np.sin(np.arange(spec.dim))
    ours = ABCD.kernel_rules(batch_rules(spec, x))
    theirs = batch_rules(GenomeSpec("weights+rules", (4, 3, 2), "threefactor"), x)
    assert ours.shape == theirs.shape == (1, 2, THREEFACTOR.n_params)
    for k, name in enumerate(THREEFACTOR.names):
        scale = 100.0 if name in UNSUPERVISED else 1.0  # threefactor's unit is 0.01
        np.testing.assert_allclose(ours[..., k], scale * theirs[..., k])
    for name in UNSUPERVISED:  # hebbian's bounds: at most +-10
        assert ABCD.params[ABCD.index(name)].unit == HEBBIAN.params[HEBBIAN.index(name)].unit


def test_abcd_rule_acts_as_threefactor_with_a_hundred_times_the_coefficients():
    """Episode for episode, a threefactor-abcd genome plays as the threefactor genome whose
    A-D search values are 100 times larger (clipped at the same natural bound of 0.1 there,
    so the values here stay inside it)."""
    spec = GenomeSpec("weights+rules", (4, 8, 2), "threefactor-abcd")
    plain = GenomeSpec("weights+rules", (4, 8, 2), "threefactor")
    rng = np.random.default_rng(5)
    x = initial_vector(spec) + 0.3 * rng.standard_normal(spec.dim)
    rules = x[rule_slice(spec)].reshape(spec.n_layers, ABCD.n_params)
    rules[:, [ABCD.index(n) for n in UNSUPERVISED]] = 0.0004 * rng.standard_normal((2, 4))
    x[rule_slice(spec)] = rules.ravel()
    as_plain = x.copy()
    scaled = as_plain[rule_slice(plain)].reshape(plain.n_layers, THREEFACTOR.n_params)
    scaled[:, [THREEFACTOR.index(n) for n in UNSUPERVISED]] *= 100.0
    as_plain[rule_slice(plain)] = scaled.ravel()
    seeds = np.arange(7000, 7006).reshape(6, 1)
    with Evaluator(EvalSettings("CartPole-v1", spec), workers=0) as ev:
        ours = ev.episode_returns(x[None, :], seeds)[0]
    with Evaluator(EvalSettings("CartPole-v1", plain), workers=0) as ev:
        theirs = ev.episode_returns(as_plain[None, :], seeds)[0]
    np.testing.assert_allclose(ours, theirs)


def test_unsupervised_terms_at_full_scale_change_what_the_network_does():
    """The reason for the family: the same search values move the weights 100 times more
    (Pendulum-v1: every episode runs 200 steps, so the drift has time to act)."""
    spec = GenomeSpec("weights+rules", (3, 8, 1), "threefactor-abcd")
    plain = GenomeSpec("weights+rules", (3, 8, 1), "threefactor")
    x = initial_vector(spec) + 0.3 * np.random.default_rng(6).standard_normal(spec.dim)
    rules = x[rule_slice(spec)].reshape(spec.n_layers, ABCD.n_params)
    rules[:, ABCD.index("eta")] = -1.0  # 0.1
    rules[:, ABCD.index("bias")] = 3.0  # D: a constant drift of every weight
    x[rule_slice(spec)] = rules.ravel()
    seeds = np.arange(7100, 7110).reshape(10, 1)
    returns = {}
    for s in (spec, plain):
        with Evaluator(EvalSettings("Pendulum-v1", s), workers=0) as ev:
            returns[s.rule_family] = ev.episode_returns(x[None, :], seeds)[0].ravel()
    assert np.abs(returns["threefactor-abcd"] - returns["threefactor"]).min() > 1.0


def test_round_trip_keeps_the_family():
    spec = GenomeSpec("weights+rules", (8, 16, 4), "threefactor-abcd")
    x = initial_vector(spec) - 0.1
    back, y, meta = decode_genome(encode_genome(spec, x, {"env": "LunarLander-v3"}))
    assert back == spec and np.array_equal(x, y) and meta["env"] == "LunarLander-v3"
