"""Founding question 4: are there universal rules?

A rule trained on several environments (experiments/multi_env_training.py) against
rules trained on one each, all scored on environments none of them was trained on,
each against 5 random rules and plasticity off on the same 100 held-out lifetimes
(the matrix of experiments/transfer_matrix.py, computed there or here, cached).

    .venv/bin/python experiments/universal_rules.py --out runs/universal

Writes DIR/universal.md and DIR/universal.png.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from transfer_matrix import add_matrix_flags, matrix

from island.lab.transfer import TransferCell


def table(cells: list[TransferCell]) -> str:
    lines = ["| environment (none trained on it) | genome | trained on | score ± SE | "
             "best of 5 random rules | plasticity off | margin | beats both (> 2 SE) |",
             "|---|---|---|---|---|---|---|---|"]
    for c in cells:
        rows = {r.name: r for r in c.rows}
        random_best = max(r.mean for n, r in rows.items() if n.startswith("random"))
        lines.append(f"| {c.env} | {c.genome} | {'+'.join(c.trained_on)} | "
                     f"{c.evolved.mean:.1f} ± {c.evolved.stderr:.1f} | "
                     f"{random_best:.1f} | {rows['no plasticity'].mean:.1f} | "
                     f"{c.margin:+.1f} | {'yes' if c.beats_baselines else 'no'} |")
    return "\n".join(lines)


def figure(cells: list[TransferCell], path: Path) -> None:
    """Per unseen environment: each genome's margin over its best baseline, +- 2 SE."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(dict.fromkeys(c.env for c in cells))
    genomes = list(dict.fromkeys(c.genome for c in cells))
    fig, axes = plt.subplots(1, len(envs), figsize=(4.2 * len(envs), 4), squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        for i, genome in enumerate(genomes):
            (c,) = [c for c in cells if c.env == env and c.genome == genome]
            spread = 2 * float(np.hypot(c.evolved.stderr, c.best_baseline.stderr))
            ax.bar(i, c.margin, yerr=spread, color=f"C{i}", capsize=4)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(genomes)), [g.split(".")[0].replace("+", "+\n")
                                            for g in genomes], fontsize=8)
        ax.set_title(env, fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel("margin over the best baseline (+- 2 SE)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_matrix_flags(parser)
    args = parser.parse_args()
    unseen = [c for c in matrix(args)
              if c.env in args.outside and c.env not in c.trained_on]
    (args.out / "universal.md").write_text(table(unseen) + "\n")
    figure(unseen, args.out / "universal.png")
    print(table(unseen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
