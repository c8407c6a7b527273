"""Arms of a recipe on the same seeds, each run stopped by a CPU budget (`--max-cpu`).

On a shared machine wall time depends on the other users; the CPU seconds of the node
and its workers do not, so arms run side by side (`--jobs 2`, alternating arms within a
seed) compare fairly. Each run is one `island-node --config CONFIG --seed S --max-cpu B`
plus the arm's flags; the table reads each run's own log and events: why it stopped,
evaluations, CPU and wall seconds, the champion's last validation, the held-out mean over
100 lifetimes (seeds >= 2^31, gymnasium) and when a champion round first reached the
target. `--read` tabulates runs already in `--out` without running anything (an arm not
run on a seed is left out).

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
from time_to_solve import BIN, parse_seeds, run_all

from island.config import read_config
from island.record import (
    Champion,
    ChampionRound,
    Confirmation,
    HeldOut,
    Stopped,
    of_kind,
    read_events,
    read_generations,
)


class ArmRun(msgspec.Struct):
    """One arm on one seed: a line of budget.json."""

    arm: str
    flags: list[str]
    seed: int
    stopped: str  # the node's own reason ("-": killed before it could say)
    evaluations: int
    cpu: float  # CPU seconds of the node and its workers (log.jsonl)
    wall: float
    champion: float | None  # its last validation mean
    held_out: float | None  # None: the run never reached its final score
    held_out_std: float | None
    at_target: tuple[int, float] | None  # evaluations and CPU s at the first round >= target
    # the confirmation with the highest bound: mean, bound, lifetimes (None: none ran)
    best_confirmation: tuple[float, float, int] | None = None
    scored_kept: bool = False  # held out on the best-confirmed genome (stand_on_confirmed)
    off_plateau_cpu: float | None = None  # CPU s at the first champion round >= 0
    round_evaluations: int = 0  # episodes of champion rounds
    confirmation_evaluations: int = 0  # episodes of confirmations


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
    """One run's figures, from its own log and events."""
    log, events = read_generations(run / "log.jsonl"), read_events(run / "events.jsonl")
    last, stops, held = log[-1], of_kind(events, Stopped), of_kind(events, HeldOut)
    by_generation = {line.generation: line for line in log}
    at_target = next(((by_generation[e.generation].evaluations,
                       round(by_generation[e.generation].cpu_spent, 1))
                      for e in of_kind(events, Champion)
                      if e.score is not None and e.score >= target
                      and e.generation in by_generation), None)
    confirmations = [e for e in of_kind(events, Confirmation)
                     if e.mean is not None and e.bound is not None]
    best = max(confirmations, key=lambda e: e.bound, default=None)
    rounds = of_kind(events, ChampionRound)
    off = next((round(by_generation[e.generation].cpu_spent, 1) for e in rounds
                if e.score is not None and e.score >= 0 and e.generation in by_generation),
               None)
    batch = read_config(run / "config.toml").evaluation.confirm_episodes
    return ArmRun(arm, flags, seed, stops[-1].reason if stops else "-", last.evaluations,
                  round(last.cpu_spent, 1), last.wall, last.champion,
                  held[-1].held_out_mean if held else None,
                  held[-1].held_out_std if held else None, at_target,
                  (best.mean, best.bound, best.lifetimes) if best else None,
                  bool(held and held[-1].confirmed_mean is not None), off,
                  sum(len(e.scores) * e.lifetimes for e in rounds),
                  batch * len(of_kind(events, Confirmation)))


def table(budget: Budget) -> str:
    lines = [f"| arm | seed | stopped | evaluations | CPU s | wall s | champion validation | "
             f"best confirmation: mean, bound (lifetimes) | scored | "
             f"held-out mean ± std (100) | >= {budget.target:g} | first round >= "
             f"{budget.target:g} at (evaluations, CPU s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in budget.runs:
        champion = "-" if r.champion is None else f"{r.champion:.1f}"
        held = "-" if r.held_out is None else f"{r.held_out:.1f} ± {r.held_out_std:.1f}"
        reached = "-" if r.held_out is None else ("yes" if r.held_out >= budget.target
                                                   else "no")
        at = "-" if r.at_target is None else f"{r.at_target[0]:,}, {r.at_target[1]:.0f}"
        best = "-" if r.best_confirmation is None else \
            "{:.1f}, {:.1f} ({})".format(*r.best_confirmation)
        scored = "best-confirmed" if r.scored_kept else "champion"
        lines.append(f"| {r.arm} | {r.seed} | {r.stopped} | {r.evaluations:,} | {r.cpu:.0f} | "
                     f"{r.wall:.0f} | {champion} | {best} | {scored} | {held} | {reached} | "
                     f"{at} |")
    lines += ["", "Where the budget went: CPU s off the plateau (the first champion round >= 0) "
              f"and to the first round >= {budget.target:g}; the evaluations (episodes) of "
              "champion rounds and of confirmations, of all the run's.", "",
              "| arm | seed | CPU s to a round >= 0 | CPU s to a round >= "
              f"{budget.target:g} | CPU s after it | round episodes | confirmation episodes "
              "| training episodes |", "|---|---|---|---|---|---|---|---|"]
    for r in budget.runs:
        off = "-" if r.off_plateau_cpu is None else f"{r.off_plateau_cpu:.0f}"
        to = "-" if r.at_target is None else f"{r.at_target[1]:.0f}"
        after = "-" if r.at_target is None else f"{r.cpu - r.at_target[1]:.0f}"
        training = r.evaluations - r.round_evaluations - r.confirmation_evaluations
        lines.append(f"| {r.arm} | {r.seed} | {off} | {to} | {after} | "
                     f"{r.round_evaluations:,} ({r.round_evaluations / r.evaluations:.0%}) | "
                     f"{r.confirmation_evaluations:,} "
                     f"({r.confirmation_evaluations / r.evaluations:.0%}) | "
                     f"{training:,} ({training / r.evaluations:.0%}) |")
    for arm in dict.fromkeys(r.arm for r in budget.runs):
        runs = [r for r in budget.runs if r.arm == arm and r.held_out is not None]
        lines.append(f"\n{arm}: {sum(r.held_out >= budget.target for r in runs)} of "
                     f"{len(runs)} finished runs held out >= {budget.target:g}")
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
                          for seed in seeds for arm, flags in arms.items()
                          if (run_dir(args.out, arm, seed) / "log.jsonl").exists()])
    text = table(budget)
    print("\n" + text)
    (args.out / "budget.md").write_text(f"`{' '.join(sys.argv)}`\n\n{text}\n")
    (args.out / "budget.json").write_bytes(
        msgspec.json.format(msgspec.json.encode(budget), indent=1))


if __name__ == "__main__":
    main()
