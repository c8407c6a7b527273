"""The first-run benchmark end to end: real nodes one after another, wall and CPU measured,
the held-out score read from each node's own events."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from first_run import read_summary  # noqa: E402


def test_the_benchmark_times_each_seed_and_reads_its_held_out_score(tmp_path):
    out, summary_dir = tmp_path / "runs", tmp_path / "summary"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "first_run.py"), "--seeds", "1,2",
                    "--workers", "1", "--out", str(out), "--summary", str(summary_dir),
                    "--note", "a test", "--", "--max-generations", "3", "--target", "none",
                    "--final-episodes", "5"],
                   check=True, timeout=300, capture_output=True, cwd=ROOT)
    summary = read_summary(summary_dir / "summary.json")
    assert summary.seeds == 2 and [r.seed for r in summary.runs] == [1, 2]
    for run in summary.runs:
        assert run.generations == 3 and run.stopped == "max_generations 3 reached"
        assert run.wall > 0 and 0 < run.node_cpu <= run.tree_cpu + 1
        assert run.held_out is not None  # 5 held-out lifetimes, scored at the end
    text = (summary_dir / "summary.md").read_text()
    assert "a test" in text and "seeds within 60 s with held-out >= 475" in text
    assert (out / "seed-1" / "log.jsonl").exists() and not (summary_dir / "seed-1").exists()
