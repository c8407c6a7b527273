"""Migration roles: elites enter whole, champions' rules are grafted onto the receiver's weights."""

from __future__ import annotations

import numpy as np

from genome.layout import clip_to_bounds, rule_slice
from genome.spec import GenomeKind, GenomeSpec
from island.cmaes_island import Elite, Island
from island.migration import ACCEPTED, GRAFTED, Migration, admit


def spec(kind: str) -> GenomeSpec:
    return GenomeSpec(GenomeKind(kind), (4, 8, 2), "hebbian")


def test_a_rule_migrant_keeps_the_receivers_weights_and_brings_only_its_rule():
    s = spec("weights+rules")
    local, migrant = np.zeros(s.dim), clip_to_bounds(s, np.ones(s.dim))
    elite = admit(s, local, s, migrant, role="elite")
    rule = admit(s, local, s, migrant, role="rule")
    assert elite.outcome == ACCEPTED and np.array_equal(elite.x, migrant)
    assert rule.outcome == GRAFTED
    rules = rule_slice(s)
    assert np.array_equal(rule.x[rules], migrant[rules])
    weights = np.ones(s.dim, dtype=bool)
    weights[rules] = False
    assert np.all(rule.x[weights] == 0.0)


def test_for_a_rules_genome_the_rule_is_the_whole_genome():
    s = spec("rules")
    admission = admit(s, np.zeros(s.dim), s, np.full(s.dim, 0.5), role="rule")
    assert admission.outcome == ACCEPTED


def test_outgoing_offers_the_champion_for_its_rule_only_when_the_genome_has_one():
    events = []
    for kind, roles in (("weights+rules", ["elite", "elite", "rule"]),
                        ("weights", ["elite", "elite"])):
        s = spec(kind)
        island = Island(np.zeros(s.dim), 0.1, popsize=6, seed=3)
        population = island.ask()
        island.tell(population.X, np.arange(len(population), dtype=float))
        champion = Elite(np.full(s.dim, 0.2), 42.0, 1)
        out = Migration(s, 5.0, lambda *a, **k: events.append(a)).outgoing(
            island, 2, "n1", "CartPole-v1", champion)
        assert [m.role for m in out] == roles
        if kind == "weights+rules":
            assert out[-1].claimed_fitness == 42.0 and np.array_equal(out[-1].x, champion.x)
