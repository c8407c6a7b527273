"""Steps per CPU second of a node and its workers, envpool over gymnasium, at the defaults.

For each case, rounds alternate the two simulators (gymnasium first in odd rounds, envpool
first in even ones) so both meet the same load on a shared machine. Each run is one
`island-node` with the node's defaults besides the environment, the seed, the simulator and
a budget; the figure is read from its own `log.jsonl`: environment steps over CPU seconds
(the node process and its workers) between the end of generation `--skip` and the last one,
so start-up (imports, compiling, worker start) is not counted. A ratio is envpool's figure
over gymnasium's in the same round; the table gives each round's and their median.

Nodes run their whole budget (`--target none`): a CartPole or Acrobot node stops at its
target within a few CPU seconds, which left windows of 0.1-1 CPU s after start-up (a
figure read to the millisecond of a shared machine's clock); the summary keeps the steps
and CPU seconds each figure counts.

    .venv/bin/python benchmarks/simulator_speed.py [--rounds 2] [--out runs/simulator-speed] \\
        [--cases CartPole-v1,Acrobot-v1,LunarLander-v3,BipedalWalker-v3,learned-CartPole-v1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from island.record import read_generations

BIN = Path(sys.executable).parent
SIMULATORS = ("gymnasium", "envpool")

# case -> (environment, extra node flags, evaluation budget)
CASES: dict[str, tuple[str, list[str], int]] = {
    "CartPole-v1": ("CartPole-v1", [], 3000),
    "Acrobot-v1": ("Acrobot-v1", [], 1500),
    "LunarLander-v3": ("LunarLander-v3", [], 2000),
    "BipedalWalker-v3": ("BipedalWalker-v3", [], 400),
    "learned-CartPole-v1": ("CartPole-v1", ["--kind", "rules", "--rule-family", "learned"],
                            1500),
}


def steps_per_cpu_second(run: Path, skip: int) -> tuple[float, int, float]:
    """Steps per CPU second after generation `skip`, and the steps and CPU seconds counted."""
    log = read_generations(run / "log.jsonl")
    first, last = log[min(skip, len(log) - 2)], log[-1]
    steps = last.steps - first.steps
    cpu = sum(last.cpu.values()) - sum(first.cpu.values())
    return steps / cpu, steps, cpu


def run_node(case: str, simulator: str, seed: int, out: Path, workers: int | None) -> Path:
    env, flags, budget = CASES[case]
    run = out / f"{case}-{simulator}-{seed}"
    command = [str(BIN / "island-node"), "--env", env, "--seed", str(seed), "--simulator",
               simulator, "--max-evals", str(budget), "--final-episodes", "0",
               "--target", "none", "--run-dir", str(run), "--fresh", "--quiet", *flags]
    if workers is not None:
        command += ["--workers", str(workers)]
    print(" ".join(command), flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip", type=int, default=3, help="generations of start-up left out")
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument("--seed", type=int, default=41)
    parser.add_argument("--out", type=Path, default=Path("runs/simulator-speed"))
    args = parser.parse_args()
    rows = []
    for case in args.cases.split(","):
        ratios, figures = [], {s: [] for s in SIMULATORS}
        for r in range(args.rounds):
            order = SIMULATORS if r % 2 == 0 else SIMULATORS[::-1]
            this_round = {}
            for simulator in order:
                run = run_node(case, simulator, args.seed + r, args.out, args.workers)
                this_round[simulator] = steps_per_cpu_second(run, args.skip)
                figures[simulator].append(this_round[simulator])
            ratios.append(this_round["envpool"][0] / this_round["gymnasium"][0])
        rows.append({"case": case, "ratios": ratios, "median_ratio": statistics.median(ratios),
                     **{f"{s}_steps_per_cpu_s": [round(f[0]) for f in figures[s]]
                        for s in SIMULATORS},
                     **{f"{s}_steps_and_cpu_s_counted": [(f[1], round(f[2], 2)) for f in figures[s]]
                        for s in SIMULATORS}})
        print(json.dumps(rows[-1]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("| case | gymnasium steps/CPU s | envpool steps/CPU s | envpool / gymnasium, by round "
          "| median |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['case']} | {', '.join(f'{v:,}' for v in row['gymnasium_steps_per_cpu_s'])} "
              f"| {', '.join(f'{v:,}' for v in row['envpool_steps_per_cpu_s'])} "
              f"| {', '.join(f'{v:.1f}' for v in row['ratios'])} | {row['median_ratio']:.1f} |")


if __name__ == "__main__":
    main()
