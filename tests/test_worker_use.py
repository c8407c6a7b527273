"""benchmarks/worker_use.py on a real node's own logs."""

import gzip
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from worker_use import worker_use  # noqa: E402

from island.record import read_generations  # noqa: E402


def test_worker_use_reads_a_two_worker_run_and_sorts_its_generations(tmp_path):
    run = tmp_path / "run"
    subprocess.run([str(Path(sys.executable).parent / "island-node"), "--env", "CartPole-v1",
                    "--seed", "3", "--max-evals", "600", "--workers", "2", "--run-dir", str(run),
                    "--target", "1000", "--quiet"], check=True, timeout=300, cwd=ROOT)
    log = read_generations(run / "log.jsonl")
    use = worker_use(run)
    assert {"plain", "round", "overall"} <= set(use)
    assert all(share > 0.0 and wall > 0 for share, wall in use.values())
    assert use["overall"][0] <= 1.0  # two workers' CPU within two x the wall time
    assert use["overall"][1] == log[-1].wall
    rounds = sum(1 for a in log[1:] if a.generation % 5 == 0)
    assert rounds >= 1 and use["round"][1] < use["overall"][1]
    for name in ("log.jsonl", "events.jsonl"):  # results keep their logs gzipped
        path = run / name
        path.with_name(name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    assert worker_use(run) == use  # workers from the run's own config.toml
