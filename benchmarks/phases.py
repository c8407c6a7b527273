"""Where each block's evaluations and CPU seconds went, from the `time_to_solve.py` summaries
(JSON) in a folder (it writes each run's phases since 2026-12-07c): the crash plateau at the
early population (to the round at which it gave way), the climb (from there to the first
round at the target) and the end game (the end game's lifetimes per evaluation,
confirmations, to the stop); then what champion rounds and confirmations cost over the
whole run. Medians over the runs that reached each point. A run with no early population
has no resize: for it only the way to the end game (plateau and climb together) and the
end game are given.

    .venv/bin/python benchmarks/phases.py benchmarks/lunar-search-2026-12-07d [--tables]

`--tables` prints, after it, every summary's table of seeds as `time_to_solve.py` does.
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from time_to_solve import read_summary, table


def median(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="a folder of time_to_solve.py summaries")
    parser.add_argument("--tables", action="store_true",
                        help="then every summary's table of seeds, as time_to_solve.py prints it")
    args = parser.parse_args()
    print("| summary | solved | median evaluations | median CPU s | plateau | climb | end game "
          "| to the end game | plateau CPU s | climb CPU s | end-game CPU s | rounds "
          "| confirmations |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    summaries = {path.stem: read_summary(path) for path in sorted(args.folder.glob("*.json"))}
    for name, block in summaries.items():
        runs = block.runs
        resized = [r for r in runs if r.resized_at is not None]
        both = [r for r in resized if r.end_game_at is not None]
        ended = [r for r in runs if r.end_game_at is not None]
        print(f"| {name} | {block.solved} of {block.seeds} "
              f"| {block.median_evaluations:,.0f} | {block.median_cpu:.0f} "
              f"| {median([r.resized_at for r in resized])} "
              f"| {median([r.end_game_at - r.resized_at for r in both])} "
              f"| {median([r.evaluations - r.end_game_at for r in ended])} "
              f"| {median([r.end_game_at for r in ended])} "
              f"| {median([r.cpu_resized for r in resized])} "
              f"| {median([r.cpu_end_game - r.cpu_resized for r in both])} "
              f"| {median([r.cpu - r.cpu_end_game for r in ended])} "
              f"| {median([r.round_evaluations for r in runs])} "
              f"| {median([r.confirm_evaluations for r in runs])} |")
    if args.tables:
        for name, block in summaries.items():
            print(f"\n### {name}\n\n{table(block)}")


if __name__ == "__main__":
    main()
