"""Time to solve LunarLander-v3 from scratch: episode evaluations and wall time to a held-out 200.

Runs `island-node` (all cores) until its champion's validation score reaches
`--target` or `--max-evals` evaluations are spent, then reads the node's own
final score of the champion on 100 held-out seeds (never seen in training or
validation). Solved means a held-out mean of at least 200.

    .venv/bin/python benchmarks/time_to_solve.py [--seeds 1,2,3] [--out runs/time-to-solve]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from island.runlog import read_jsonl

BIN = Path(sys.executable).parent
SOLVED = 200.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--out", type=Path, default=Path("runs/time-to-solve"))
    parser.add_argument("--target", type=float, default=250.0,
                        help="stop when the champion's validation score reaches it")
    parser.add_argument("--max-evals", type=int, default=30000)
    parser.add_argument("flags", nargs="*", default=[
        "--hidden", "16", "--popsize", "32", "--episodes", "3", "--sigma", "0.5"],
        help="island-node settings after --, default: %(default)s")
    args = parser.parse_args()
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        run = args.out / f"seed-{seed}"
        command = [str(BIN / "island-node"), "--env", "LunarLander-v3",
                   "--kind", "weights+rules", *args.flags, "--seed", str(seed),
                   "--target", str(args.target), "--max-evals", str(args.max_evals),
                   "--final-episodes", "100", "--run-dir", str(run), "--quiet"]
        print(" ".join(command[0:1] + [c for c in command[1:]]), flush=True)
        subprocess.run(command, check=True)
        last = read_jsonl(run / "log.jsonl")[-1]
        score = [e for e in read_jsonl(run / "events.jsonl") if e["event"] == "held_out"][-1]
        rows.append((seed, last["evaluations"], last["wall"], last.get("champion"),
                     score["held_out_mean"], score["held_out_std"]))
    print("\n| seed | evaluations | wall s | champion validation | held-out mean ± std (100) |"
          " solved |\n|---|---|---|---|---|---|")
    for seed, evals, wall, champion, mean, std in rows:
        print(f"| {seed} | {evals:,} | {wall:.0f} | {champion:.1f} | {mean:.1f} ± {std:.1f} | "
              f"{'yes' if mean >= SOLVED else 'no'} |")


if __name__ == "__main__":
    main()
