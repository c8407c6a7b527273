"""How busy a node kept its workers: worker CPU seconds over workers x wall, from its own logs.

Reads a run directory's `log.jsonl`, `events.jsonl` (or their `.gz` copies) and
`config.toml` (workers, rounds' interval) and splits the generations three ways: plain
ones, those ending in a champion round, and those whose round also confirmed a champion.
What plain generations leave idle is the cost of the generation barrier (every worker
waits for the slowest job), so it bounds what steady-state (asynchronous) evaluation could
win; rounds and confirmations score a few genomes on many lifetimes, which is where a
split by genome alone left cores idle.

    .venv/bin/python benchmarks/worker_use.py RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import statistics
from itertools import pairwise
from pathlib import Path

from island.config import read_config
from island.record import Confirmation, of_kind, read_events, read_generations


def run_file(run: Path, name: str) -> Path:
    """`name` in the run directory, or its gzipped copy (logs kept with results)."""
    plain = run / name
    return plain if plain.exists() else plain.with_name(name + ".gz")


def worker_use(run: Path, workers: int | None = None) -> dict[str, tuple[float, float]]:
    """Per kind of generation: (median worker use, wall seconds spent in them). Workers and
    the champion rounds' interval come from the run's own config.toml; `workers` only
    stands in where that leaves them unset."""
    evaluation = read_config(run / "config.toml").evaluation
    workers = evaluation.workers or workers
    if not workers:
        raise SystemExit(f"{run}: config.toml names no worker count; pass --workers")
    validate_every = evaluation.validate_every
    log = read_generations(run_file(run, "log.jsonl"))
    confirmed = {e.generation for e in of_kind(read_events(run_file(run, "events.jsonl")),
                                               Confirmation)}
    kinds: dict[str, list[tuple[float, float]]] = {"plain": [], "round": [], "confirmation": []}
    for before, line in pairwise(log):
        wall = line.wall - before.wall
        if wall <= 0:
            continue  # nothing to divide by
        use = (line.cpu["workers"] - before.cpu["workers"]) / (workers * wall)
        generation = line.generation
        kind = ("confirmation" if generation in confirmed
                else "round" if generation % validate_every == 0 else "plain")
        kinds[kind].append((use, wall))
    last = log[-1]
    result = {k: (statistics.median(u for u, _ in v), sum(w for _, w in v))
              for k, v in kinds.items() if v}
    result["overall"] = (last.cpu["workers"] / (workers * last.wall), last.wall)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes, for runs whose config.toml leaves them unset")
    args = parser.parse_args()
    for run in args.runs:
        use = worker_use(run, args.workers)
        parts = ", ".join(f"{kind} {u:.3f} ({wall:,.0f} s)" for kind, (u, wall) in use.items())
        print(f"{run}: worker use {parts}")


if __name__ == "__main__":
    main()
