"""island-report's learning-strategy panel, on a real heterogeneous three-island run."""

from __future__ import annotations

from island.lab.report import read_summary
from island.record import HeldOut, MigrantEvaluated, of_kind, read_events
from tests.conftest import run_cli, run_cluster

# Two threefactor islands of different networks (the rule is grafted between them) and a
# Hebbian one (nothing it sends fits the others); lifetimes of 3 episodes draw curves.
HETEROGENEOUS = """
[evaluation]
env = "CartPole-v1"
kind = "rules"
rule_family = "threefactor"
hidden = []
episodes = 1
lifetime = 3
max_steps = 60
workers = 1
validate_every = 2
validation_episodes = 2

[evolution]
popsize = 6

[migration]
interval = 1

[stop]
max_generations = 12
max_time = 90
final_episodes = 6

[gossip]
heartbeat_interval = 0.2
dead_after = 1.5

[[island]]
name = "threefactor-linear"

[[island]]
name = "threefactor-hidden"
evaluation.kind = "weights+rules"
evaluation.hidden = [3]

[[island]]
name = "hebbian"
evaluation.rule_family = "hebbian"
"""


def test_the_report_of_a_heterogeneous_run_draws_each_islands_learning_strategy(tmp_path):
    experiment = tmp_path / "heterogeneous.toml"
    experiment.write_text(HETEROGENEOUS)
    out = tmp_path / "runs"
    run_cluster(experiment, out)
    names = ("threefactor-linear", "threefactor-hidden", "hebbian")
    for name in names:
        assert of_kind(read_events(out / name / "events.jsonl"), HeldOut)

    report = tmp_path / "report"
    result = run_cli("island-report", str(out), "--out", str(report), "--no-videos",
                     "--strategy-lifetimes", "4", timeout=120)
    assert result.returncode == 0, result.stderr
    summary = read_summary(report / "summary.json")
    assert {"learning.png", "strategies.png"} <= set(summary.figures)
    assert (report / "strategies.png").stat().st_size > 10_000
    strategies = {s.island: s for s in summary.learning_strategies}
    assert set(strategies) == set(names)
    for s in strategies.values():  # a curve of 3 episodes, with and without plasticity
        assert len(s.curve) == len(s.frozen_curve) == 3
        assert s.plasticity_gain == s.mean - s.frozen_mean
    page = (report / "report.html").read_text()
    assert "Learning strategies" in page
    # Migrants were scored where they landed, by outcome; the Hebbian island's never fit.
    # (On a loaded machine an island may finish before its peers answer: then none came.)
    migrated = summary.migrated_rules
    evaluated = [e for name in names
                 for e in of_kind(read_events(out / name / "events.jsonl"), MigrantEvaluated)]
    assert sum(m.evaluated for m in migrated) == len(evaluated)
    assert ("Which rules migrated where" in page) == bool(migrated)
    assert {m.outcome for m in migrated} <= {"accepted", "grafted"}
    assert not any(m.origin.startswith("hebbian") or m.receiver == "hebbian"
                   for m in migrated)
    assert all(max(m.became_best, m.became_champion) <= m.evaluated for m in migrated)
