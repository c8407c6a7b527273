"""Lifetimes of several episodes: counted as episodes, scored by a chosen rule, shown as a curve."""

import msgspec
import numpy as np
import pytest

from envs import EvalSettings, Evaluator
from genome import GenomeSpec
from island.lab.genome_file import GenomeFile
from island.lab.rule_study import EvalReport
from island.record import HeldOut, of_kind, read_events, read_generations
from tests.conftest import run_cli

FAST = ["--env", "CartPole-v1", "--kind", "rules", "--rule-family", "threefactor",
        "--hidden", "4", "--max-steps", "30", "--workers", "1", "--quiet"]


def test_lifetimes_count_every_episode_and_the_node_reports_its_learning_curve(tmp_path):
    run = tmp_path / "run"
    result = run_cli("island-node", *FAST, "--run-dir", str(run), "--lifetime", "3",
                     "--episodes", "2", "--popsize", "8", "--max-generations", "4",
                     "--validate-every", "2", "--validation-episodes", "2",
                     "--final-episodes", "5", "--lifetime-fitness", "weighted")
    assert result.returncode == 0, result.stderr
    log = read_generations(run / "log.jsonl")
    # 8 genomes x 2 lifetimes x 3 episodes per generation; champion rounds at generations
    # 2 and 4 score 2 and then 3 candidates on 2 lifetimes of 3 episodes.
    assert log[-1].evaluations == 4 * 8 * 2 * 3 + (2 + 3) * 2 * 3
    (held_out,) = of_kind(read_events(run / "events.jsonl"), HeldOut)
    assert held_out.episodes_per_lifetime == 3 and len(held_out.curve) == 3
    assert held_out.lifetime_fitness == "weighted"
    meta = GenomeFile.read(run / "best.msgpack").meta
    assert meta.lifetime == 3 and meta.lifetime_fitness == "weighted"


def test_the_settings_lifetime_groups_a_flat_list_of_episode_seeds():
    """`EvalSettings.lifetime` says how many episodes make a lifetime: four seeds are two
    lifetimes of two, as the same seeds written as a (lifetimes, episodes) array."""
    spec = GenomeSpec("rules", (4, 4, 2), "threefactor")
    X = np.random.default_rng(3).normal(0.0, 0.5, (2, spec.dim))
    two = EvalSettings("CartPole-v1", spec, 40, "mean", simulator="gymnasium", lifetime=2)
    with Evaluator(two, workers=0) as grouped, \
            Evaluator(EvalSettings("CartPole-v1", spec, 40, "mean", simulator="gymnasium"),
                      workers=0) as by_shape:
        flat = grouped.evaluate(X, [5, 6, 7, 8])
        shaped = by_shape.evaluate(X, [[5, 6], [7, 8]])
        with pytest.raises(ValueError, match="not lifetimes of 2"):
            grouped.evaluate(X, [5, 6, 7])
    assert flat.lifetimes.shape == (2, 2) and flat.episodes == 2 * 4
    np.testing.assert_array_equal(flat.lifetimes, shaped.lifetimes)


def test_island_eval_json_has_every_row_with_its_curve_on_the_seeds_asked_for(tmp_path):
    run = tmp_path / "run"
    result = run_cli("island-node", *FAST, "--run-dir", str(run), "--lifetime", "4",
                     "--episodes", "1", "--popsize", "8", "--max-generations", "2",
                     "--final-episodes", "0")
    assert result.returncode == 0, result.stderr
    outputs = []
    for start in ("0", "0", "1000"):
        scored = run_cli("island-eval", str(run / "best.msgpack"), "--json", "--compare", "2",
                         "--episodes", "6", "--workers", "1", "--held-out-start", start)
        assert scored.returncode == 0, scored.stderr
        outputs.append(msgspec.json.decode(scored.stdout, type=EvalReport))
    report = outputs[0]
    assert report.lifetime == 4 and report.lifetimes == 6
    assert report.held_out_seeds_from == 2**31
    assert [r.name for r in report.rows] == ["evolved", "random rule 1", "random rule 2",
                                                   "learning off", "no plasticity",
                                                   "constant action 0", "constant action 1"]
    assert report.verdict.comparisons == 6
    for row in report.rows:
        assert len(row.curve) == 4 and len(row.curve_std) == 4
        assert row.min <= row.mean <= row.max and row.std >= 0
    assert outputs[1] == report  # the same seeds give the same figures
    assert outputs[2].held_out_seeds_from == 2**31 + 1000
    assert outputs[2].rows != report.rows  # another block of held-out seeds


@pytest.mark.parametrize("cli, args, flag", [
    ("island-node", ["--lifetime", "0"], "--lifetime"),
    ("island-node", ["--lifetime-fitness", "best"], "--lifetime-fitness"),
    ("island-node", ["--envs-fitness", "max"], "--envs-fitness"),
    ("island-eval", ["missing.msgpack", "--held-out-start", "-1"], "--held-out-start"),
])
def test_bad_lifetime_options_stop_with_one_line_naming_the_flag(tmp_path, cli, args, flag):
    extra = ["--run-dir", str(tmp_path / "r")] if cli == "island-node" else []
    result = run_cli(cli, *args, *extra)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and flag in result.stderr
