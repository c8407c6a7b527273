"""Where a block's evaluations went, from the summaries in this folder: the crash plateau
(to the first champion round at >= 0), the climb (from there to the first at the solved
level) and the end game (from there to the stop: 3 lifetimes per evaluation, confirmation);
medians over the runs that logged both (`time_to_solve.py` reads `champion` events, which
come only when the champion changes: a run whose standing champion first scored 200 has none).

    .venv/bin/python benchmarks/lunar-search-2026-12-07b/phases.py
"""
import json
import statistics
from pathlib import Path

HERE = Path(__file__).parent
BLOCKS = [HERE.parent / "lunar-search-2026-12-07" / "tune-16001-defaults.json",
          *sorted(HERE.glob("tune-16001-*.json")), *sorted(HERE.glob("report-18001-*.json")),
          *sorted(HERE.glob("tune-19001-*.json")), *sorted(HERE.glob("report-20001-*.json"))]


def median(values: list[int]) -> str:
    return f"{statistics.median(values):,.0f}" if values else "-"


def main() -> None:
    print("| summary | solved | plateau | climb | end game | unsolved |")
    print("|---|---|---|---|---|---|")
    for path in BLOCKS:
        block = json.loads(path.read_text())
        runs = block["runs"]
        plateau = [r["past_zero"] for r in runs if r["past_zero"] is not None]
        climbed = [r for r in runs if r["past_zero"] is not None and r["past_solved"] is not None]
        climb = [r["past_solved"] - r["past_zero"] for r in climbed]
        end = [r["evaluations"] - r["past_solved"] for r in climbed]
        unsolved = [str(r["seed"]) for r in runs if not r["solved"]]
        print(f"| {path.name} | {block['solved']} of {block['seeds']} | {median(plateau)} | "
              f"{median(climb)} | {median(end)} | {', '.join(unsolved) or '-'} |")


if __name__ == "__main__":
    main()
