"""How busy a node kept its workers: worker CPU seconds over workers x wall, from its own logs.

Reads a run directory's `log.jsonl` (or `log.jsonl.gz`) and `events.jsonl` and splits the
generations three ways: plain ones, those ending in a champion round, and those whose
round also confirmed a champion. What plain generations leave idle is the cost of the
generation barrier (every worker waits for the slowest job), so it bounds what
steady-state (asynchronous) evaluation could win; rounds and confirmations score a few
genomes on many lifetimes, which is where a split by genome alone left cores idle.

    .venv/bin/python benchmarks/worker_use.py RUN_DIR [RUN_DIR ...] [--workers 2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
from itertools import pairwise
from pathlib import Path
from typing import Any


def read_lines(path: Path) -> list[dict[str, Any]]:
    """JSON lines of a file, gzipped or not (a missing file has none)."""
    for candidate in (path, path.with_name(path.name + ".gz")):
        if candidate.exists():
            opener = gzip.open if candidate.suffix == ".gz" else open
            with opener(candidate, "rt") as f:
                return [json.loads(line) for line in f if line.strip()]
    return []


def worker_use(run: Path, workers: int, validate_every: int = 5) -> dict[str, tuple[float, float]]:
    """Per kind of generation: (median worker use, wall seconds spent in them)."""
    log = read_lines(run / "log.jsonl")
    confirmed = {e["generation"] for e in read_lines(run / "events.jsonl")
                 if e.get("event") == "champion_confirmed"}
    kinds: dict[str, list[tuple[float, float]]] = {"plain": [], "round": [], "confirmation": []}
    for before, line in pairwise(log):
        wall = line["wall"] - before["wall"]
        if wall <= 0:
            continue  # nothing to divide by
        use = (line["cpu"]["workers"] - before["cpu"]["workers"]) / (workers * wall)
        generation = line["generation"]
        kind = ("confirmation" if generation in confirmed
                else "round" if generation % validate_every == 0 else "plain")
        kinds[kind].append((use, wall))
    last = log[-1]
    result = {k: (statistics.median(u for u, _ in v), sum(w for _, w in v))
              for k, v in kinds.items() if v}
    result["overall"] = (last["cpu"]["workers"] / (workers * last["wall"]), last["wall"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the runs")
    parser.add_argument("--validate-every", type=int, default=5)
    args = parser.parse_args()
    for run in args.runs:
        use = worker_use(run, args.workers, args.validate_every)
        parts = ", ".join(f"{kind} {u:.3f} ({wall:,.0f} s)" for kind, (u, wall) in use.items())
        print(f"{run}: worker use {parts}")


if __name__ == "__main__":
    main()
