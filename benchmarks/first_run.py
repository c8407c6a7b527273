"""How long a newcomer's first `make run` takes: the embedded default, one seed after another.

Runs `island-node` with no option but the seed, the worker count and a run directory
(extra node flags go after `--`), one run at a time, and reads for each: the wall time
from launch to exit (start-up, evolution, the 100-lifetime held-out score), the node's
own CPU seconds until it stopped (its `cpu` log: the node process and its workers), the
CPU seconds of the whole process tree (final score included), evaluations, and the
held-out mean (seeds >= 2^31, never drawn in training). A run still going after
`--timeout` seconds is stopped with SIGTERM and counted as a miss.

    .venv/bin/python benchmarks/first_run.py [--seeds 1-20] [--workers 2] \\
        [--out runs/first-run] [--summary benchmarks/first-run-DATE] [--timeout 300] \\
        [-- --popsize 16 ...]

The run directories (raw logs) go to --out; the tables (summary.md, summary.json) to
--summary, by default the same folder.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from time_to_solve import parse_seeds  # noqa: E402

from island.record import HeldOut, Stopped, of_kind, read_events, read_generations  # noqa: E402

BIN = Path(sys.executable).parent
GOAL_WALL = 60.0  # seconds a first run may take (issue 43)
GOAL_HELD_OUT = 475.0  # CartPole-v1's reward_threshold


class FirstRun(msgspec.Struct):
    """What one seed's first run cost and reached: a line of summary.json."""

    seed: int
    wall: float  # seconds from launch to exit
    node_cpu: float  # the node's own CPU seconds until it stopped (its log)
    tree_cpu: float  # CPU seconds of the process and its workers, final score included
    evaluations: int
    generations: int
    held_out: float | None  # None: the run did not end by itself
    stopped: str


def run_seed(seed: int, workers: int, out: Path, timeout: float, flags: list[str]) -> FirstRun:
    run = out / f"seed-{seed}"
    command = [str(BIN / "island-node"), "--seed", str(seed), "--workers", str(workers),
               "--run-dir", str(run), "--fresh", "--quiet", *flags]
    print(" ".join(command), flush=True)
    before = os.times()
    start = time.monotonic()
    with open(out / f"seed-{seed}.out", "w") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
    wall = time.monotonic() - start
    after = os.times()
    tree_cpu = (after.children_user - before.children_user
                + after.children_system - before.children_system)
    log, events = read_generations(run / "log.jsonl"), read_events(run / "events.jsonl")
    last = log[-1] if log else None
    held, stops = of_kind(events, HeldOut), of_kind(events, Stopped)
    return FirstRun(seed, round(wall, 2), round(last.cpu_spent, 2) if last else 0.0,
                    round(tree_cpu, 2), last.evaluations if last else 0,
                    last.generation if last else 0,
                    held[-1].held_out_mean if held else None,
                    stops[-1].reason if stops else "none")


def table(runs: list[FirstRun]) -> str:
    lines = ["| seed | wall s | node CPU s | tree CPU s | evaluations | generations "
             "| held-out mean (100) | stopped |", "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        held = "-" if r.held_out is None else f"{r.held_out:.1f}"
        lines.append(f"| {r.seed} | {r.wall:.1f} | {r.node_cpu:.1f} | {r.tree_cpu:.1f} | "
                     f"{r.evaluations:,} | {r.generations} | {held} | {r.stopped} |")
    return "\n".join(lines)


class Summary(msgspec.Struct, kw_only=True):
    """summary.json: how it was run, how many seeds met the goal, the median and worst of
    wall and CPU seconds, and every seed's line; written and read back (tests) through this
    type."""

    command: list[str]
    flags: list[str]
    note: str
    seeds: int
    met_goal: int
    median_wall: float
    max_wall: float
    median_node_cpu: float
    max_node_cpu: float
    median_tree_cpu: float
    min_held_out: float | None  # None: a run did not end by itself
    runs: list[FirstRun]


def summarise(command: list[str], flags: list[str], note: str, runs: list[FirstRun]) -> Summary:
    walls = [r.wall for r in runs]
    met = [r for r in runs if r.wall <= GOAL_WALL and (r.held_out or 0) >= GOAL_HELD_OUT]
    held_out = [r.held_out for r in runs]
    return Summary(command=command, flags=flags, note=note, seeds=len(runs),
                   met_goal=len(met), median_wall=statistics.median(walls),
                   max_wall=max(walls),
                   median_node_cpu=statistics.median(r.node_cpu for r in runs),
                   max_node_cpu=max(r.node_cpu for r in runs),
                   median_tree_cpu=statistics.median(r.tree_cpu for r in runs),
                   min_held_out=None if None in held_out else min(held_out), runs=runs)


def read_summary(path: Path) -> Summary:
    """A summary.json this script wrote."""
    return msgspec.json.decode(path.read_bytes(), type=Summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="1-20")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds after which a run is stopped and counted as a miss")
    parser.add_argument("--out", type=Path, default=Path("runs/first-run"),
                        help="where the run directories go (raw logs: keep them out of git)")
    parser.add_argument("--summary", type=Path, default=None,
                        help="where summary.md and summary.json go (default: --out)")
    parser.add_argument("--note", default="",
                        help="a sentence for the summary: the machine, what else ran on it")
    parser.add_argument("flags", nargs="*", default=[],
                        help="island-node options after --; none: the embedded default")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for seed in parse_seeds(args.seeds):
        runs.append(run_seed(seed, args.workers, args.out, args.timeout, args.flags))
        print(table(runs[-1:]).splitlines()[-1], flush=True)
    totals = summarise(sys.argv, args.flags, args.note, runs)
    lowest = "-" if totals.min_held_out is None else f"{totals.min_held_out:.1f}"
    text = (table(runs) + f"\n\n{totals.met_goal} of {totals.seeds} seeds within "
            f"{GOAL_WALL:.0f} s with held-out >= {GOAL_HELD_OUT:.0f}; wall median "
            f"{totals.median_wall:.1f} s, max {totals.max_wall:.1f} s; node CPU median "
            f"{totals.median_node_cpu:.1f} s, max {totals.max_node_cpu:.1f} s; "
            f"lowest held-out {lowest}")
    print("\n" + text)
    summary_dir = args.summary or args.out
    summary_dir.mkdir(parents=True, exist_ok=True)
    note = f"{args.note}\n\n" if args.note else ""
    (summary_dir / "summary.md").write_text(f"`{' '.join(sys.argv)}`\n\n{note}{text}\n")
    (summary_dir / "summary.json").write_bytes(
        msgspec.json.format(msgspec.json.encode(totals), indent=1) + b"\n")


if __name__ == "__main__":
    main()
