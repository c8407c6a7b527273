"""The report's figures, drawn to be read at the size the page shows them (their own).

Every figure is saved at 100 dpi and shown at its pixel width, so a 11 pt label stays
about 15 px on screen; the page caps nothing but the width of a narrow window.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from island.lab.report import IslandRun

from island.record import HeldOut

OUTCOMES = ("accepted", "grafted", "dropped")
STYLE = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 10,
         "xtick.labelsize": 10, "ytick.labelsize": 10}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)
    return plt


def plot_fitness(runs: list[IslandRun], x_key: str, x_label: str, path: Path) -> None:
    """Champion (thick), best training sample (thin) and generation mean (dashed) per island.

    The champion's score is its mean on a round of fresh validation seeds: the
    honest curve; the best training sample is the luckiest score seen so far.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 5))
    for run in runs:
        rows = run.log
        xs = [getattr(r, x_key) for r in rows]  # generation, evaluations or wall
        nan = float("nan")
        (line,) = ax.plot(xs, [nan if r.best is None else r.best for r in rows], linewidth=1,
                          label=f"{run.name} best sample")
        ax.plot(xs, [nan if r.mean is None else r.mean for r in rows], linestyle="--",
                color=line.get_color(), alpha=0.6, linewidth=1,
                label=f"{run.name} generation mean")
        champion = [nan if r.champion is None else r.champion for r in rows]
        if any(c == c for c in champion):  # some generation had a champion (not all NaN)
            ax.plot(xs, champion, linewidth=2.5, color=line.get_color(),
                    label=f"{run.name} champion")
    ax.set_xlabel(x_label)
    ax.set_ylabel("mean episode return")
    ax.grid(alpha=0.3)
    if runs:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_migration(flow: dict[tuple[str, str], dict[str, int]], islands: list[str],
                   path: Path) -> None:
    """One heatmap per outcome: rows are origin islands, columns receiving islands."""
    import numpy as np

    plt = _pyplot()
    origins = sorted({o for o, _ in flow} | set(islands))
    side = max(3.2, 0.55 * max(len(islands), len(origins)) + 1.5)
    fig, axes = plt.subplots(1, len(OUTCOMES), figsize=(side * len(OUTCOMES), side),
                             squeeze=False)
    for ax, outcome in zip(axes[0], OUTCOMES, strict=True):
        matrix = np.array([[flow.get((o, r), {}).get(outcome, 0) for r in islands]
                           for o in origins])
        ax.imshow(matrix, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(islands)), islands, rotation=45, ha="right")
        ax.set_yticks(range(len(origins)), origins)
        ax.set_xlabel("receiving island")
        ax.set_ylabel("origin island")
        ax.set_title(f"{outcome} ({int(matrix.sum())})")
        top = matrix.max() if matrix.size else 0
        for (i, j), count in np.ndenumerate(matrix):
            ax.text(j, i, str(count), ha="center", va="center",
                    color="black" if top and count > top / 2 else "white")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_rules(runs: list[IslandRun], path: Path) -> None:
    """One row per island, one panel per layer: each rule parameter against generation.

    A symmetric log scale shows a learning rate of 1e-3 and a coefficient of 5 on
    one axis; at most one family's few parameters share a panel, so colours stay legible.
    """
    plt = _pyplot()
    ruled = [run for run in runs if any(r.rules for r in run.log)]
    layers = {run.name: sorted({k.split(".", 1)[0] for r in run.log for k in r.rules})
              for run in ruled}
    cols = max([len(v) for v in layers.values()] or [1])
    rows = max(1, len(ruled))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols + 2.2, 2.9 * rows), squeeze=False)
    if not ruled:
        axes[0][0].text(0.5, 0.5, "no island evolves a learning rule", ha="center",
                        va="center", transform=axes[0][0].transAxes)
    for ax in axes.flat:
        ax.axis("off")
    for row, run in enumerate(ruled):
        records = [r for r in run.log if r.rules]
        generations = [r.generation for r in records]
        family = run.evaluation.rule_family if run.evaluation else "-"
        for col, layer in enumerate(layers[run.name]):
            ax = axes[row][col]
            ax.axis("on")
            names = sorted({k for r in records for k in r.rules if k.startswith(layer + ".")})
            if len(names) > 10:  # the default cycle repeats after ten colours
                ax.set_prop_cycle(color=plt.get_cmap("tab20").colors)
            for name in names:
                ax.plot(generations, [r.rules.get(name) for r in records], linewidth=1.5,
                        label=name.split(".", 1)[1])
            ax.set_yscale("symlog", linthresh=1e-3)
            ax.set_title(f"{run.name} ({family}), {layer}")
            ax.set_xlabel("generation")
            ax.grid(alpha=0.3)
            if col == len(layers[run.name]) - 1:
                ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def learning_curves(runs: list[IslandRun]) -> dict[str, tuple[str, list[float]]]:
    """Island -> (its colour in the fitness figures, its held-out within-lifetime curve)."""
    curves = {}
    for index, run in enumerate(runs):
        held = run.events_of(HeldOut)
        curve = held[-1].curve if held else []
        if len(curve) > 1:
            curves[run.name] = (f"C{index % 10}", curve)
    return curves


def plot_learning_curves(curves: dict[str, tuple[str, list[float]]], path: Path) -> None:
    """Mean held-out return against episode index within a lifetime, one line per island."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, (color, curve) in curves.items():
        ax.plot(range(1, len(curve) + 1), curve, marker="o", linewidth=2, color=color,
                label=name)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("episode within the lifetime")
    ax.set_ylabel("mean held-out return")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
