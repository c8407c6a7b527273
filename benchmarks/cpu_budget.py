"""Arms of a recipe on the same seeds, each run stopped by a CPU budget (`--max-cpu`).

On a shared machine wall time depends on the other users; the CPU seconds of the node
and its workers do not, so arms run side by side (`--jobs 2`, alternating arms within a
seed) compare fairly. Each run is one `island-node --config CONFIG --seed S --max-cpu B`
plus the arm's flags; the table reads each run's own log and events: why it stopped,
evaluations, CPU and wall seconds, the champion's last validation, the held-out mean over
100 lifetimes (seeds >= 2^31, gymnasium) and when a champion round first reached the
target. `--read` tabulates runs already in `--out` without running anything.

    .venv/bin/python benchmarks/cpu_budget.py --config examples/bipedal-walker.toml \\
        --seeds 3910,3911 --arms "base=" "pop64=--popsize 64" --budget 1200 --jobs 2 \\
        --out runs/bip-tune [-- --workers 1]
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import msgspec
from time_to_solve import BIN, SeedRun, parse_seeds, read_run, run_all

from island.record import Stopped, of_kind, read_events


class ArmRun(msgspec.Struct):
    """One arm on one seed: a line of budget.json."""

    arm: str
    flags: list[str]
    stopped: str  # the node's own reason
    run: SeedRun


class Budget(msgspec.Struct, kw_only=True):
    """budget.json: the command, the budget, every run."""

    command: list[str]
    config: str
    budget: float
    target: float
    runs: list[ArmRun]


def parse_arms(texts: list[str]) -> dict[str, list[str]]:
    """'name=flags' each; the flags split as a shell would."""
    arms = {}
    for text in texts:
        name, _, flags = text.partition("=")
        arms[name] = shlex.split(flags)
    return arms


def run_dir(out: Path, arm: str, seed: int) -> Path:
    return out / f"{arm}-{seed}"


def read_arm(arm: str, flags: list[str], seed: int, run: Path, target: float) -> ArmRun:
    stops = of_kind(read_events(run / "events.jsonl"), Stopped)
    return ArmRun(arm, flags, stops[-1].reason if stops else "-", read_run(seed, run, target))


def table(budget: Budget) -> str:
    lines = [f"| arm | seed | stopped | evaluations | CPU s | wall s | champion validation | "
             f"held-out mean ± std (100) | >= {budget.target:g} | champion >= "
             f"{budget.target:g} at (evaluations) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for a in budget.runs:
        r = a.run
        champion = "-" if r.champion is None else f"{r.champion:.1f}"
        at = "-" if r.past_solved is None else f"{r.past_solved:,}"
        lines.append(f"| {a.arm} | {r.seed} | {a.stopped} | {r.evaluations:,} | {r.cpu:.0f} | "
                     f"{r.wall:.0f} | {champion} | {r.held_out:.1f} ± {r.held_out_std:.1f} | "
                     f"{'yes' if r.solved else 'no'} | {at} |")
    for arm in dict.fromkeys(a.arm for a in budget.runs):
        runs = [a.run for a in budget.runs if a.arm == arm]
        lines.append(f"\n{arm}: {sum(r.solved for r in runs)} of {len(runs)} held out >= "
                     f"{budget.target:g}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--seeds", required=True, help="e.g. 3910-3913; say which were tuned on")
    parser.add_argument("--arms", nargs="+", default=["base="], help="name=node flags")
    parser.add_argument("--budget", type=float, default=1200.0, help="--max-cpu of each run")
    parser.add_argument("--target", type=float, default=300.0,
                        help="held-out mean that counts as reached")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time")
    parser.add_argument("--out", type=Path, default=Path("runs/cpu-budget"))
    parser.add_argument("--read", action="store_true", help="tabulate runs already in --out")
    parser.add_argument("flags", nargs="*", default=[], help="node flags for every arm, after --")
    args = parser.parse_args()
    arms, seeds = parse_arms(args.arms), parse_seeds(args.seeds)
    if not args.read:
        commands = {}  # seeds outer, arms inner: arms alternate under the same load
        for seed in seeds:
            for arm, flags in arms.items():
                commands[f"{arm}-{seed}"] = [
                    str(BIN / "island-node"), "--config", args.config, "--seed", str(seed),
                    "--max-cpu", f"{args.budget:g}", "--final-episodes", "100",
                    "--run-dir", str(run_dir(args.out, arm, seed)), "--fresh", "--quiet",
                    *args.flags, *flags]
        run_all(commands, args.jobs, args.out / "_out")
    budget = Budget(command=sys.argv, config=args.config, budget=args.budget,
                    target=args.target,
                    runs=[read_arm(arm, flags, seed, run_dir(args.out, arm, seed), args.target)
                          for seed in seeds for arm, flags in arms.items()])
    text = table(budget)
    print("\n" + text)
    (args.out / "budget.md").write_text(f"`{' '.join(sys.argv)}`\n\n{text}\n")
    (args.out / "budget.json").write_bytes(
        msgspec.json.format(msgspec.json.encode(budget), indent=1))


if __name__ == "__main__":
    main()
