"""Founding question 2: do rules transfer from a training set of environments to others?

The rule evolved on several environments (experiments/multi_env_training.py) is
scored by `island-transfer` in every training environment and in environments none
was trained on, and so are the rules evolved on one each
(`examples/genomes/<env>.threefactor.rules.msgpack`, issue 11) in the latter; each cell against 5 random rules and the same rule
with plasticity off, on the same 100 held-out lifetimes (seeds from 2^31 +
REPORT_OFFSET, used for nothing else: no choice was made on them). Every genome is
scored with lifetimes of LIFETIME episodes, its training set's own length.

    .venv/bin/python experiments/transfer_matrix.py --out runs/universal

Writes DIR/matrix/transfer.{md,json,png,html} (the multi-environment rule: the heatmap
of margins over the best baseline), DIR/singles/ (the one-environment rules outside
their environments) and DIR/transfer_curves.png (the multi-environment rule's within-lifetime
curves beside its baselines in every environment). Cached: a re-run reads the matrix.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from cached import BIN, ROOT
from multi_env_training import add_training_flags, evolve

OUTSIDE = ["MountainCarContinuous-v0", "Pendulum-v1", "LunarLanderContinuous-v3"]
REPORT_OFFSET = 400_000
LIFETIME = 10


def single_env_genomes(training: list[str]) -> list[Path]:
    """The shipped one-environment rules of the training environments (where one exists)."""
    paths = [ROOT / "examples" / "genomes" / f"{env}.threefactor.rules.msgpack"
             for env in training]
    return [p for p in paths if p.exists()]


def transfer(args: argparse.Namespace, genomes: list[Path], envs: list[str],
             name: str) -> list[dict[str, Any]]:
    """`island-transfer` of genomes x envs into DIR/<name>/ (cached there)."""
    out = args.out / name
    if not (out / "transfer.json").exists():
        subprocess.run([str(BIN / "island-transfer"), *map(str, genomes), "--envs", *envs,
                        "--episodes", str(args.episodes), "--compare", "5",
                        "--lifetime", str(LIFETIME), "--held-out-start", str(REPORT_OFFSET),
                        "--workers", str(args.workers), "--out", str(out)], check=True)
    return json.loads((out / "transfer.json").read_text())


def matrix(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The multi-environment rule in every environment (DIR/matrix), then the
    one-environment rules in the environments outside the training set (DIR/singles):
    their own environments were scored in issue 11."""
    multi = evolve(args.out, args.training, args.max_evals, args.seed, args.workers)
    cells = transfer(args, [multi], [*args.training, *args.outside], "matrix")
    singles = single_env_genomes(args.training)
    return cells + (transfer(args, singles, args.outside, "singles") if singles else [])


def add_matrix_flags(parser: argparse.ArgumentParser) -> None:
    add_training_flags(parser)
    parser.add_argument("--outside", nargs="+", default=OUTSIDE, metavar="ENV",
                        help="environments no genome was trained on")
    parser.add_argument("--episodes", type=int, default=100, help="held-out lifetimes per cell")


def curves_figure(cells: list[dict[str, Any]], genome: str, path: Path) -> None:
    """One panel per environment: the genome's curve, its best random rule, plasticity off."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mine = [c for c in cells if c["genome"] == genome]
    fig, axes = plt.subplots(1, len(mine), figsize=(3.6 * len(mine), 3.6), squeeze=False)
    for ax, cell in zip(axes[0], mine, strict=True):
        rows = {r["name"]: r for r in cell["rows"]}
        randoms = [r for n, r in rows.items() if n.startswith("random")]
        shown = {"evolved": rows["evolved"], "best random rule": max(randoms,
                                                                     key=lambda r: r["mean"]),
                 "plasticity off": rows["no plasticity"]}
        for (label, row), style in zip(shown.items(), ("-o", "--", ":"), strict=True):
            ax.plot(range(1, len(row["curve"]) + 1), row["curve"], style, label=label)
        where = "held out" if cell["held_out_env"] else "trained on"
        ax.set_title(f"{cell['env']} ({where})", fontsize=10)
        ax.set_xlabel("episode within the lifetime")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean return, 100 held-out lifetimes")
    axes[0][0].legend(frameon=False, fontsize=8)
    fig.suptitle(f"{genome}: within-lifetime learning", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_matrix_flags(parser)
    args = parser.parse_args()
    cells = matrix(args)
    genome = cells[0]["genome"]
    curves_figure(cells, genome, args.out / "transfer_curves.png")
    print((args.out / "matrix" / "transfer.md").read_text())
    outside = [c for c in cells if c["genome"] == genome and c["held_out_env"]]
    wins = [c["env"] for c in outside if c["beats_baselines"]]
    print(f"{genome} beats both baselines by > 2 SE in {len(wins)} of {len(outside)} "
          f"environments outside its training set: {', '.join(wins) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
