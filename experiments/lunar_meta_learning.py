"""Founding question 1: does pure meta-learning work on LunarLander?

The rule of `examples/genomes/LunarLander-v3.threefactor.rules.msgpack` (12 rule
parameters, a linear network with random initial weights every lifetime, evolved by
experiments/meta_learning.py: `--envs LunarLander-v3`, whose run this reuses; pass
`--evolve` to evolve it again into DIR/LunarLander-v3 first) is scored by
`island-eval --json --compare 5` on 100 held-out lifetimes of 20 episodes from
2^31 + 100,000 (used for nothing else), against 5 random rules and itself with
plasticity off on the same seeds and initial weights.

    .venv/bin/python experiments/lunar_meta_learning.py --out runs/q1

Writes DIR/report.json (cached), DIR/lunar_meta_learning.md and .png.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from cached import BIN, ROOT, island_eval

from island.lab.rule_study import EvalReport, HeldOutScore

SHIPPED = ROOT / "examples" / "genomes" / "LunarLander-v3.threefactor.rules.msgpack"
REPORT_OFFSET = 100_000


def last5(row: HeldOutScore) -> float:
    return sum(row.curve[-5:]) / len(row.curve[-5:])


def table(result: EvalReport) -> str:
    lines = ["| rule | held-out score ± SE (last half of the lifetime) | first episode | "
             "last 5 episodes |", "|---|---|---|---|"]
    for r in result.rows:
        lines.append(f"| {r.name} | {r.mean:.1f} ± {r.stderr:.1f} | "
                     f"{r.curve[0]:.1f} | {last5(r):.1f} |")
    return "\n".join(lines)


def figure(result: EvalReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for r in result.rows:
        episodes = range(1, len(r.curve) + 1)
        if r.name == "evolved":
            ax.plot(episodes, r.curve, "-o", linewidth=2.5, color="C0", label="evolved rule")
        elif r.name == "no plasticity":
            ax.plot(episodes, r.curve, "--", color="black", label="plasticity off")
        else:
            ax.plot(episodes, r.curve, color="grey", alpha=0.5, linewidth=1,
                    label="random rules" if r.name == "random rule 1" else None)
    ax.set_xlabel("episode within the lifetime (fresh random weights at episode 1)")
    ax.set_ylabel("mean return, 100 held-out lifetimes")
    ax.set_title("LunarLander-v3, pure meta-learning (12 rule parameters)")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/q1"))
    parser.add_argument("--evolve", action="store_true",
                        help="evolve the rule again (experiments/meta_learning.py) first")
    parser.add_argument("--episodes", type=int, default=100, help="held-out lifetimes")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    genome = SHIPPED
    if args.evolve:
        subprocess.run([str(BIN / "python"), str(ROOT / "experiments" / "meta_learning.py"),
                        "--out", str(args.out), "--envs", "LunarLander-v3",
                        "--workers", str(args.workers)], check=True)
        genome = args.out / "LunarLander-v3" / "best.msgpack"
    result = island_eval(genome, args.out / "report.json", args.episodes, REPORT_OFFSET,
                         args.workers)
    (args.out / "lunar_meta_learning.md").write_text(table(result) + "\n")
    figure(result, args.out / "lunar_meta_learning.png")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
