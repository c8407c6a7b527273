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

`--baseline DIR` adds a third node in every round: envpool with the code of another
checkout (`git archive main | tar -x -C DIR`), run by this interpreter with DIR first on
its path (its workers import DIR's code too), so a change is measured against main in the
same rounds; `baseline / gymnasium` is its ratio.

    .venv/bin/python benchmarks/simulator_speed.py [--rounds 2] [--out runs/simulator-speed] \\
        [--cases CartPole-v1,Acrobot-v1,LunarLander-v3,BipedalWalker-v3,learned-CartPole-v1] \\
        [--baseline runs/main-snapshot]
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
    cpu = last.cpu_spent - first.cpu_spent
    return steps / cpu, steps, cpu


def run_node(case: str, simulator: str, seed: int, out: Path, workers: int | None,
             baseline: Path | None = None) -> Path:
    """One node's run directory; `baseline`: the node of that checkout (envpool)."""
    env, flags, budget = CASES[case]
    run = out / f"{case}-{simulator if baseline is None else 'baseline'}-{seed}"
    node = [str(BIN / "island-node")] if baseline is None else [
        sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv.pop(1)); "
        "from island.cli.node import main; sys.argv[0] = 'island-node'; main()",
        str(baseline.resolve())]
    command = [*node, "--env", env, "--seed", str(seed), "--simulator",
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
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a checkout of other code whose envpool node runs in every round")
    args = parser.parse_args()
    nodes = (*SIMULATORS, *(("baseline",) if args.baseline else ()))
    rows = []
    for case in args.cases.split(","):
        ratios, figures = [], {s: [] for s in nodes}
        baseline_ratios = []
        for r in range(args.rounds):
            order = nodes if r % 2 == 0 else nodes[::-1]
            this_round = {}
            for name in order:
                run = run_node(case, "envpool" if name == "baseline" else name, args.seed + r,
                               args.out, args.workers,
                               args.baseline if name == "baseline" else None)
                this_round[name] = steps_per_cpu_second(run, args.skip)
                figures[name].append(this_round[name])
            ratios.append(this_round["envpool"][0] / this_round["gymnasium"][0])
            if args.baseline:
                baseline_ratios.append(this_round["baseline"][0] / this_round["gymnasium"][0])
        rows.append({"case": case, "ratios": ratios, "median_ratio": statistics.median(ratios),
                     **({"baseline_ratios": baseline_ratios,
                         "baseline_median_ratio": statistics.median(baseline_ratios)}
                        if args.baseline else {}),
                     **{f"{s}_steps_per_cpu_s": [round(f[0]) for f in figures[s]]
                        for s in nodes},
                     **{f"{s}_steps_and_cpu_s_counted": [(f[1], round(f[2], 2)) for f in figures[s]]
                        for s in nodes}})
        print(json.dumps(rows[-1]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("| case | gymnasium steps/CPU s | envpool steps/CPU s | envpool / gymnasium, by round "
          "| median |" + (" baseline envpool steps/CPU s | baseline / gymnasium | median |"
                          if args.baseline else ""))
    print("|---|---|---|---|---|" + ("---|---|---|" if args.baseline else ""))
    for row in rows:
        extra = (f" {', '.join(f'{v:,}' for v in row['baseline_steps_per_cpu_s'])} "
                 f"| {', '.join(f'{v:.2f}' for v in row['baseline_ratios'])} "
                 f"| {row['baseline_median_ratio']:.2f} |") if args.baseline else ""
        print(f"| {row['case']} | {', '.join(f'{v:,}' for v in row['gymnasium_steps_per_cpu_s'])} "
              f"| {', '.join(f'{v:,}' for v in row['envpool_steps_per_cpu_s'])} "
              f"| {', '.join(f'{v:.2f}' for v in row['ratios'])} | {row['median_ratio']:.2f} |"
              + extra)


if __name__ == "__main__":
    main()
