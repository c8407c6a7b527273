"""The time-to-solve benchmark end to end: real nodes, and figures read from their own logs."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from time_to_solve import read_summary  # noqa: E402


def test_the_benchmark_reports_each_seed_with_when_its_champion_passed_zero(tmp_path):
    out = tmp_path / "tts"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "time_to_solve.py"),
                    "--env", "CartPole-v1", "--seeds", "1,2", "--max-evals", "400",
                    "--jobs", "2", "--out", str(out), "--", "--workers", "1"],
                   check=True, timeout=300, capture_output=True, cwd=ROOT)
    summary = read_summary(out / "summary.json")
    assert summary.seeds == 2 and [r.seed for r in summary.runs] == [1, 2]
    for run in summary.runs:
        assert 0 < run.evaluations <= 400 + 200  # the budget, and one champion round past it
        assert run.cpu > 0
        # CartPole returns are never negative: the first champion round already passes 0,
        # and nothing can be past the solved level before it is past 0
        assert run.past_zero is not None and run.past_zero <= run.evaluations
        assert run.past_solved is None or run.past_solved >= run.past_zero
        assert run.solved == (run.held_out >= 475)
        # where the evaluations went: rounds of 10 lifetimes, confirmations 50 at a time,
        # and no early population below 8 observations
        assert run.round_evaluations > 0 and run.round_evaluations % 10 == 0
        assert run.confirm_evaluations % 50 == 0 and run.resized_at is None
        assert run.end_game_at is None or run.end_game_at <= run.evaluations
    assert "champion >= 0 at" in (out / "summary.md").read_text()

    # A block run as several invocations is summarised again from its runs, running nothing
    (out / "summary.json").unlink()
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "time_to_solve.py"),
                    "--env", "CartPole-v1", "--seeds", "2", "--out", str(out),
                    "--summarise-only"], check=True, timeout=120, capture_output=True, cwd=ROOT)
    again = read_summary(out / "summary.json")
    assert again.runs == [r for r in summary.runs if r.seed == 2]
