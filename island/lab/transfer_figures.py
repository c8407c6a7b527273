"""The transfer matrix drawn: a heatmap of margins and a grid of learning curves."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from island.lab.transfer import TransferCell, margins


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _short(genome: str) -> str:
    """A genome's file name without the suffix every rule genome shares."""
    return genome.removesuffix(".msgpack").removesuffix(".rules")


def _wrapped(name: str, width: int = 30) -> str:
    """A long genome name over several lines, broken after each '+' (an environment)."""
    lines = [""]
    for part in re.split(r"(?<=\+)", name):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(lines)


def heatmap(cells: list[TransferCell], path: Path) -> None:
    """Margins over the best baseline, genomes x environments; training cells outlined."""
    plt = _pyplot()
    genomes, envs, matrix = margins(cells)
    limit = float(np.nanmax(np.abs(matrix))) if np.isfinite(matrix).any() else 1.0
    labels = [_short(g) for g in genomes]
    label_width = 0.07 * max(len(label) for label in labels)  # inches, at fontsize 10
    fig, ax = plt.subplots(figsize=(1.8 + label_width + 1.6 * len(envs), 1.8 + 0.6 * len(genomes)),
                           layout="constrained")
    image = ax.imshow(matrix, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    for c in cells:
        i, j = genomes.index(c.genome), envs.index(c.env)
        ax.text(j, i, f"{c.margin:+.0f}{'*' if c.beats_baselines else ''}", ha="center",
                va="center", fontsize=10,
                color="white" if abs(c.margin) > 0.6 * limit else "black")  # readable on dark
        if not c.held_out_env:
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2))
    ax.set_xticks(range(len(envs)), envs, rotation=20, ha="right")
    ax.set_yticks(range(len(genomes)), labels)
    ax.set_title("margin over the best baseline (* > 2 SE; outlined: trained on)", fontsize=10)
    fig.colorbar(image, ax=ax, shrink=0.8)
    fig.savefig(path, dpi=110, bbox_inches="tight")  # long genome names stay whole
    plt.close(fig)


def learning_curves(cells: list[TransferCell], path: Path) -> None:
    """Genomes x environments: each cell's mean held-out return by episode within a lifetime,
    the genome against the best of its random rules, its own rule with learning off and with
    plasticity off, and the best constant action."""
    plt = _pyplot()
    genomes, envs, _ = margins(cells)
    fig, axes = plt.subplots(len(genomes), len(envs), squeeze=False,
                             figsize=(3.2 * len(envs) + 0.5, 2.8 * len(genomes) + 0.6),
                             layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for c in cells:
        ax = axes[genomes.index(c.genome)][envs.index(c.env)]
        ax.axis("on")
        randoms = [r for r in c.rows[1:] if r.name.startswith("random")]
        constants = [r for r in c.rows[1:] if r.name.startswith("constant")]
        frozen = [r for r in c.rows[1:] if r not in randoms and r not in constants]
        shown = [(c.evolved, "-o", 2.0, "evolved")]
        if randoms:
            shown.append((max(randoms, key=lambda r: r.mean), "--", 1.2, "best random rule"))
        shown += [(r, ":", 1.2, r.name) for r in frozen]
        if constants:
            shown.append((max(constants, key=lambda r: r.mean), "-.", 1.0,
                          "best constant action"))
        for row, style, width, label in shown:
            ax.plot(range(1, len(row.curve) + 1), row.curve, style, linewidth=width,
                    markersize=3, label=label)
        ax.set_title(f"{_wrapped(_short(c.genome))}\nin {c.env}"
                     f"{'' if c.held_out_env else ' (trained)'}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, frameon=False)
    fig.supxlabel("episode within the lifetime", fontsize=9)
    fig.supylabel("mean held-out return", fontsize=9)
    fig.savefig(path, dpi=100)
    plt.close(fig)
