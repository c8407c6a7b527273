"""Success rate of `island-node` on an environment from scratch, over seeds never used to tune.

Runs one `island-node` per seed with the node's *defaults* (only the environment,
the seed and the evaluation budget are given; extra node flags go after `--`),
then reads what the node logged itself: episode evaluations and CPU seconds (the
node process and its workers, from the last `log.jsonl` line: the cost to solve,
not of the final score) and the champion's mean over 100 held-out seeds (the
`held_out` event; seeds >= 2^31, never drawn in training or validation).
Solved means a held-out mean >= `--solved` (the environment's reward_threshold).
Each run also reports when its champion first validated at >= 0 and at >= the solved
level: on LunarLander a failed run is one stuck below 0 (the crash plateau), and these two
figures say whether a change shortens the plateau or the climb after it.

Seeds of issue 16 so far: 1-3, 7-9, 101-108 and 111-114 tuned; 1001-1010
reported, then tuned one constant; 2001-2010, 3001-3010, 4001-4010, 7001-7010,
8001-8010, 9001-9010, 10001-10010 and 11001-11010 reported; 5001-5010 and 6001-6010
reported, then tuned on (benchmarks/time_to_solve.md); 13001-13010, 14001-14010 and
15001-15010 reported (issue 39, envpool the default simulator); 16001-16010 tuned and
17001-17010 reported (issue 39's search set-up); 16001-16010 tuned again and 18001-18010
reported (the early population); 19001-19010 tuned and 20001-20010 reported; all three
tuned again with 21001-21010, and 22001-22010 reported (2026-12-07c); 23001-23010 and
24001-24010 tuned, 30001-30010 reported, then used for information, 31001-31010
reported, 24001-24010 tuned again and 32001-32010 reported (2026-12-07d); 25001-25010
and 26001-26010 (four seeds of it) tuned, 33001-33010 reported (2026-12-07e); 27001-27010
and 28001-28010 tuned, 34001-34010 reported (2026-12-07f). The default block, 12001-12010,
is one none of these touched.

    .venv/bin/python benchmarks/time_to_solve.py [--seeds 12001-12010] [--jobs 2] \\
        [--out runs/time-to-solve] [-- --popsize 32 ...]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from envs import env_info
from island.record import (
    AnyEvent,
    Champion,
    ChampionRound,
    Confirmation,
    EndGame,
    GenerationRecord,
    HeldOut,
    Resized,
    of_kind,
    read_events,
    read_generations,
)

BIN = Path(sys.executable).parent


class SeedRun(msgspec.Struct):
    """What one seed's run cost and reached: a line of summary.json."""

    seed: int
    evaluations: int
    cpu: float  # CPU seconds of the node and its workers until it stopped
    wall: float
    champion: float | None  # its last validation mean
    held_out: float
    held_out_std: float
    solved: bool
    past_zero: int | None  # evaluations when the champion first validated at >= 0
    past_solved: int | None  # ... and at >= the solved level
    # Where the evaluations went (absent from summaries written before 2026-12-07c):
    resized_at: int | None = None  # evaluations when the early population gave way
    end_game_at: int | None = None  # ... when a round first scored at the target
    cpu_resized: float | None = None  # CPU seconds at those two points
    cpu_end_game: float | None = None
    round_evaluations: int | None = None  # spent in champion rounds
    confirm_evaluations: int | None = None  # spent confirming champions


def parse_seeds(text: str) -> list[int]:
    """'1001-1010' or '1,2,5' (or both, comma-separated)."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds += list(range(int(low), int(high or low) + 1))
    return seeds


def node_command(env: str, seed: int, run: Path, max_evals: int, flags: list[str]) -> list[str]:
    # --default-max-evals, not --max-evals: a budget given as a stop criterion would drop
    # the environment's target (island/stopping.py), and the run must stop when solved.
    return [str(BIN / "island-node"), "--env", env, "--seed", str(seed),
            "--default-max-evals", str(max_evals), "--final-episodes", "100", "--run-dir", str(run),
            "--fresh", "--quiet", *flags]


def first_champion_at(log: list[GenerationRecord], events: list[AnyEvent],
                      level: float) -> int | None:
    """Evaluations spent when a champion round first chose a champion scoring >= level."""
    spent = {line.generation: line.evaluations for line in log}
    for event in of_kind(events, Champion):
        if event.score is not None and event.score >= level:
            return spent.get(event.generation)
    return None


def confirm_evaluations(events: list[AnyEvent]) -> int:
    """Lifetimes spent in confirmations: each event is one batch, the growth of its pool.
    A pool that does not grow is a new champion's, whose first batch is never larger than
    an earlier pool."""
    spent, pool = 0, 0
    for event in of_kind(events, Confirmation):
        spent += event.lifetimes - pool if event.lifetimes > pool else event.lifetimes
        pool = event.lifetimes
    return spent


def read_run(seed: int, run: Path, solved_at: float) -> SeedRun:
    """A finished run's figures, from its own log and events."""
    log, events = read_generations(run / "log.jsonl"), read_events(run / "events.jsonl")
    last = log[-1]
    held_out = of_kind(events, HeldOut)[-1]
    cpu = last.cpu_spent
    mean = held_out.held_out_mean
    at = {line.generation: line for line in log}
    resized = of_kind(events, Resized)
    end_game = [at[e.generation] for e in of_kind(events, EndGame) if e.generation in at]
    resized_line = at.get(resized[0].generation) if resized else None
    return SeedRun(seed, last.evaluations, round(cpu, 1), last.wall, last.champion,
                   mean, held_out.held_out_std, mean >= solved_at,
                   first_champion_at(log, events, 0.0), first_champion_at(log, events, solved_at),
                   resized_at=resized[0].evaluations if resized else None,
                   end_game_at=end_game[0].evaluations if end_game else None,
                   cpu_resized=round(resized_line.cpu_spent, 1) if resized_line else None,
                   cpu_end_game=round(end_game[0].cpu_spent, 1) if end_game else None,
                   round_evaluations=sum(e.lifetimes * len(e.scores)
                                         for e in of_kind(events, ChampionRound)),
                   confirm_evaluations=confirm_evaluations(events))


def run_all(commands: dict[int, list[str]], jobs: int, logs: Path) -> None:
    """Run the nodes, `jobs` at a time (each node's own CPU is what is counted)."""
    waiting, running = list(commands.items()), {}
    logs.mkdir(parents=True, exist_ok=True)
    while waiting or running:
        while waiting and len(running) < jobs:
            seed, command = waiting.pop(0)
            print(" ".join(command), flush=True)
            out = open(logs / f"seed-{seed}.out", "w")
            running[seed] = (subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT), out)
        for seed, (proc, out) in list(running.items()):
            if proc.poll() is not None:
                out.close()
                del running[seed]
                if proc.returncode:
                    sys.exit(f"time_to_solve: seed {seed} exited {proc.returncode}; "
                             f"see {logs / f'seed-{seed}.out'}")
        time.sleep(1)


class Summary(msgspec.Struct, kw_only=True):
    """summary.json: how it was run, the success rate, the median and worst of evaluations
    and CPU seconds, and every seed's line; written and read back (tests) through this type."""

    command: list[str]
    env: str
    flags: list[str]
    solved: int
    seeds: int
    median_evaluations: float
    worst_evaluations: int
    median_cpu: float
    worst_cpu: float
    worst_held_out: float
    runs: list[SeedRun]


def summarise(command: list[str], env: str, flags: list[str], runs: list[SeedRun]) -> Summary:
    evaluations = [r.evaluations for r in runs]
    cpu = [r.cpu for r in runs]
    return Summary(command=command, env=env, flags=flags,
                   solved=sum(r.solved for r in runs), seeds=len(runs),
                   median_evaluations=statistics.median(evaluations),
                   worst_evaluations=max(evaluations),
                   median_cpu=statistics.median(cpu), worst_cpu=max(cpu),
                   worst_held_out=min(r.held_out for r in runs), runs=runs)


def read_summary(path: Path) -> Summary:
    """A summary.json this script wrote."""
    return msgspec.json.decode(path.read_bytes(), type=Summary)


def table(totals: Summary) -> str:
    runs = totals.runs
    lines = ["| seed | evaluations | CPU s | wall s | champion validation | "
             "held-out mean ± std (100) | solved | champion >= 0 at | >= solved at |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        champion = "-" if r.champion is None else f"{r.champion:.1f}"
        reached = ["-" if at is None else f"{at:,}" for at in (r.past_zero, r.past_solved)]
        lines.append(f"| {r.seed} | {r.evaluations:,} | {r.cpu:.0f} | {r.wall:.0f} | {champion} "
                     f"| {r.held_out:.1f} ± {r.held_out_std:.1f} | "
                     f"{'yes' if r.solved else 'no'} | {reached[0]} | {reached[1]} |")
    lines.append(f"\nsolved {totals.solved} of {totals.seeds}; evaluations median "
                 f"{totals.median_evaluations:,.0f}, worst {totals.worst_evaluations:,}; "
                 f"CPU s median {totals.median_cpu:.0f}, worst {totals.worst_cpu:.0f}; "
                 f"worst held-out {totals.worst_held_out:.1f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="LunarLander-v3")
    parser.add_argument("--seeds", default="12001-12010",
                        help="e.g. 1001-1010 or 1,2,3; never seeds you tuned on")
    parser.add_argument("--max-evals", type=int, default=30000, help="budget per seed")
    parser.add_argument("--jobs", type=int, default=1,
                        help="nodes at a time (pass `-- --workers 1` with 2 or more)")
    parser.add_argument("--solved", type=float, default=None,
                        help="held-out mean that counts as solved (default: reward_threshold)")
    parser.add_argument("--out", type=Path, default=Path("runs/time-to-solve"))
    parser.add_argument("--summarise-only", action="store_true",
                        help="run nothing: summarise the seeds' runs already in --out (a "
                             "block whose seeds ran as several invocations)")
    parser.add_argument("flags", nargs="*", default=[],
                        help="island-node options after --; none: the node's defaults")
    args = parser.parse_args()
    solved_at = args.solved if args.solved is not None else env_info(args.env).reward_threshold
    if solved_at is None:
        parser.error(f"--solved: {args.env} has no reward_threshold; give one")
    seeds = parse_seeds(args.seeds)
    commands = {s: node_command(args.env, s, args.out / f"seed-{s}", args.max_evals, args.flags)
                for s in seeds}
    if not args.summarise_only:
        run_all(commands, args.jobs, args.out / "_out")
    unfinished = [s for s in seeds if not read_generations(args.out / f"seed-{s}" / "log.jsonl")]
    if unfinished:
        parser.error(f"no run in {args.out} for seed(s) {', '.join(map(str, unfinished))} "
                     "(--seeds names the block that ran there)")
    runs = [read_run(s, args.out / f"seed-{s}", solved_at) for s in seeds]
    totals = summarise(sys.argv, args.env, args.flags, runs)
    text = table(totals)
    print("\n" + text)
    (args.out / "summary.md").write_text(
        f"`{' '.join(sys.argv)}`\n\n{text}\n")
    (args.out / "summary.json").write_bytes(
        msgspec.json.format(msgspec.json.encode(totals), indent=1))


if __name__ == "__main__":
    main()
