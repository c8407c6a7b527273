"""Genome specs, layouts and the codec: what evolves must round-trip and reject garbage clearly."""

from dataclasses import replace
from pathlib import Path

import msgpack
import numpy as np
import pytest

from envs import EvalSettings, Evaluator
from genome import (
    GenomeDecodeError,
    GenomeKind,
    GenomeSpec,
    SpecError,
    batch_rules,
    batch_weights,
    decode_genome,
    encode_genome,
    graft_rules,
    initial_vector,
    named_rules,
)
from genome.layout import rule_slice
from genome.rules import FAMILIES
from island.migration import GRAFTED, admit


def test_spec_round_trips_through_dict_and_keeps_its_fingerprint():
    spec = GenomeSpec("weights+rules", (8, 32, 32, 4), "oja")
    again = GenomeSpec.from_dict(spec.to_dict())
    assert again == spec and again.fingerprint == spec.fingerprint


def test_fingerprint_changes_with_anything_that_changes_the_vector_meaning():
    base = GenomeSpec("weights+rules", (4, 16, 16, 2))
    others = [
        GenomeSpec("rules", (4, 16, 16, 2)),
        GenomeSpec("weights+rules", (4, 16, 8, 2)),
        GenomeSpec("weights+rules", (4, 16, 16, 2), "oja"),
    ]
    assert len({base.fingerprint, *(o.fingerprint for o in others)}) == 4


def test_default_rule_has_21_named_parameters_for_any_width():
    for hidden in [(8, 8), (64, 32)]:
        spec = GenomeSpec("rules", (4, *hidden, 2))
        assert spec.dim == 21
        names = named_rules(spec, initial_vector(spec))
        assert len(names) == 21 and "layer2.modulation" in names and "layer0.eta" in names


def test_genome_codec_round_trip():
    spec = GenomeSpec("weights+rules", (8, 16, 16, 4))
    x = np.random.default_rng(1).standard_normal(spec.dim)
    spec2, x2, meta = decode_genome(encode_genome(spec, x, {"env": "LunarLander-v3"}))
    assert spec2 == spec and np.array_equal(x, x2) and meta["env"] == "LunarLander-v3"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b[: len(b) // 2], "not a msgpack genome"),
        (lambda b: msgpack.packb([1, 2, 3]), "not an island-genome"),
        (lambda b: msgpack.packb({"format": "island-genome", "version": 99}), "version"),
        (lambda b: _edit(b, fingerprint="0" * 16), "fingerprint"),
        (lambda b: _edit(b, x=b"\x00" * 8), "bytes"),
        (lambda b: _edit(b, x=np.full(12, np.nan).tobytes()), "NaN"),
        (lambda b: _edit(b, spec={"kind": "brains", "layer_sizes": [4, 2]}), "genome kind"),
        (lambda b: _edit(b, spec={"kind": "rules", "layer_sizes": [4, 10**9]}), "layer size"),
    ],
)
def test_malformed_genome_bytes_raise_a_clear_error(mutate, message):
    spec = GenomeSpec("rules", (4, 8, 8, 2), "oja")
    good = encode_genome(spec, initial_vector(spec))
    with pytest.raises(GenomeDecodeError, match=message):
        decode_genome(mutate(good))


def _edit(data: bytes, **changes) -> bytes:
    obj = msgpack.unpackb(data)
    obj.update(changes)
    return msgpack.packb(obj)


def test_rule_transforms_keep_rates_positive_and_bounded():
    spec = GenomeSpec("rules", (4, 8, 8, 2))
    X = np.random.default_rng(0).normal(0, 50, size=(100, spec.dim))
    rules = batch_rules(spec, X)
    eta, decay = rules[..., 0], rules[..., 1]
    assert np.all((eta > 0) & (eta <= 1)) and np.all((decay > 0) & (decay <= 0.1))


def test_graft_copies_the_rule_and_keeps_the_weights():
    small = GenomeSpec("weights+rules", (4, 8, 8, 2))
    big = GenomeSpec("rules", (8, 32, 32, 4))
    rng = np.random.default_rng(3)
    target, source = rng.standard_normal(small.dim), rng.standard_normal(big.dim)
    grafted = graft_rules(small, target, big, source)
    assert np.array_equal(grafted[: small.n_weights], target[: small.n_weights])
    assert np.array_equal(grafted[small.n_weights :], source)


def test_graft_refuses_a_different_family():
    a = GenomeSpec("rules", (4, 8, 8, 2), "hebbian")
    b = GenomeSpec("rules", (4, 8, 8, 2), "oja")
    with pytest.raises(SpecError, match="family"):
        graft_rules(a, initial_vector(a), b, initial_vector(b))


def test_every_threefactor_parameter_is_documented_with_its_initial_value():
    import re

    import genome.rules as rules

    table = rules.__doc__.split("Parameters per layer")[1]
    for p in rules.THREEFACTOR.params:
        if p.name in ("hebbian", "pre", "post", "bias"):
            assert f"{p.name}" in table and p.initial == 0.0 and p.unit == 0.01
            continue
        (line,) = [ln for ln in table.splitlines() if re.match(rf"\s*{p.name}\s", ln)]
        assert float(line.split()[-1 if p.name != "trace_hebbian" else -2]) == p.initial


def test_a_random_initial_mean_is_a_reproducible_network_of_lecun_scale_with_the_rule_intact():
    spec = GenomeSpec(GenomeKind.WEIGHTS_RULES, (8, 64, 4))
    zeros = initial_vector(spec)
    x = initial_vector(spec, np.random.default_rng(5))
    assert np.array_equal(x, initial_vector(spec, np.random.default_rng(5)))
    assert not np.array_equal(x, initial_vector(spec, np.random.default_rng(6)))
    assert np.array_equal(x[rule_slice(spec)], zeros[rule_slice(spec)])
    (w1, b1), (w2, b2) = batch_weights(spec, x)
    assert not b1.any() and not b2.any()
    assert np.std(w1) == pytest.approx(1 / np.sqrt(8), rel=0.15)
    assert np.std(w2) == pytest.approx(1 / np.sqrt(64), rel=0.15)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_rule_of_one_width_round_trips_runs_and_grafts_onto_another(family):
    """Islands of different widths trade rules: every family's rule parameters per layer do
    not depend on the widths, so a narrow island's rule runs on a wide island's network."""
    narrow = GenomeSpec("rules", (8, 4), family)  # one layer's rule onto two layers
    wide = GenomeSpec("weights+rules", (4, 64, 2), family)
    assert narrow.n_rule_params == FAMILIES[family].n_params
    rule = initial_vector(narrow) + 0.3
    spec, x, meta = decode_genome(encode_genome(narrow, rule, {"env": "LunarLander-v3"}))
    assert spec == narrow and np.array_equal(x, rule) and meta["env"] == "LunarLander-v3"
    target = initial_vector(wide)
    grafted = graft_rules(wide, target, narrow, rule)
    np.testing.assert_array_equal(grafted[: wide.n_weights], target[: wide.n_weights])
    np.testing.assert_array_equal(grafted[rule_slice(wide)][-narrow.n_rule_params:], rule)
    admission = admit(wide, target, narrow, rule, 5.0)
    assert admission.outcome == GRAFTED
    with Evaluator(EvalSettings("CartPole-v1", wide), workers=0) as ev:
        assert np.isfinite(ev.evaluate(admission.x[None, :], [[1, 2]]).fitness).all()


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parent.parent / "examples"
                                         / "genomes").glob("*.msgpack")), ids=lambda p: p.name)
def test_every_shipped_genome_reads_and_plays_in_its_own_environment(path):
    """A change to a family's parameters or kernels must not strand the genomes that ship."""
    from island.lab.genome_file import GenomeFile

    spec, x, settings = GenomeFile.read(path).scored_in()
    settings = replace(settings, max_steps=30)
    with Evaluator(settings, workers=0) as ev:
        returns = ev.episode_returns(x[None, :], np.array([[7, 8]]))
    assert returns.shape == (1, 1, 2) and np.isfinite(returns).all()
