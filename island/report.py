"""A report of one or more run directories: fitness curves, migration flow, rules, a table.

Reads only what nodes write (`config.toml`, `log.jsonl`, `events.jsonl`), so it works
on copied directories and on partial runs: a torn last line, a missing events file
or a node killed before its held-out score all leave the report with less, not broken.
"""

from __future__ import annotations

import base64
import html
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from island.runlog import read_jsonl

MARKERS = ("log.jsonl", "events.jsonl", "config.toml")
OUTCOMES = ("accepted", "grafted", "dropped")


class ReportError(ValueError):
    """Nothing to report on; the message names the path."""


@dataclass
class IslandRun:
    """What one node's run directory holds."""

    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    label: str = ""  # set when two runs share a node id (standalone runs on one host)

    @property
    def node_id(self) -> str:
        return self.config.get("run", {}).get("node_id") or self.path.name

    @property
    def name(self) -> str:
        return self.label or self.node_id

    def setting(self, section: str, key: str, default: Any = "-") -> Any:
        return self.config.get(section, {}).get(key, default)

    def events_of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == kind]


def find_run_dirs(paths: list[str | Path]) -> list[Path]:
    """Node run directories among `paths`: each path itself, or its children if it holds several."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            raise ReportError(f"{path}: not a directory")
        if any((path / m).exists() for m in MARKERS):
            found.append(path)
            continue
        children = [c for c in sorted(path.iterdir())
                    if c.is_dir() and any((c / m).exists() for m in MARKERS)]
        if not children:
            raise ReportError(f"{path}: neither a node run directory nor a folder of them")
        found.extend(children)
    return found


def load_run(path: Path) -> IslandRun:
    try:
        with open(path / "config.toml", "rb") as fh:
            config = tomllib.load(fh)
    except (FileNotFoundError, tomllib.TOMLDecodeError):
        config = {}
    return IslandRun(path, config, read_jsonl(path / "log.jsonl"),
                     read_jsonl(path / "events.jsonl"))


def migration_flow(runs: list[IslandRun]) -> dict[tuple[str, str], dict[str, int]]:
    """(origin island, receiving island) -> counts of accepted, grafted and dropped migrants."""
    flow: dict[tuple[str, str], dict[str, int]] = {}
    for run in runs:
        for event in run.events:
            kind, origin = event.get("event"), event.get("origin")
            if origin is None:
                continue
            if kind == "migrant_injected":
                outcome = event.get("outcome")
                if outcome not in ("accepted", "grafted"):
                    continue
            elif kind == "migrant_dropped":
                outcome = "dropped"
            else:
                continue
            counts = flow.setdefault((str(origin), run.name), dict.fromkeys(OUTCOMES, 0))
            counts[outcome] += 1
    return flow


def summary_row(run: IslandRun) -> dict[str, Any]:
    """One island's line of the summary table."""
    last = run.log[-1] if run.log else {}
    held = run.events_of("held_out")
    injected = len(run.events_of("migrant_injected"))
    return {
        "island": run.name,
        "run_dir": str(run.path),
        "env": run.setting("evaluation", "env"),
        "kind": run.setting("evaluation", "kind"),
        "rule_family": run.setting("evaluation", "rule_family"),
        "generations": last.get("generation", 0),
        "evaluations": last.get("evaluations", 0),
        "best_training": last.get("best"),
        "champion": last.get("champion"),
        "held_out_mean": held[-1].get("held_out_mean") if held else None,
        "migrants_received": injected + len(run.events_of("migrant_dropped")),
        "migrants_injected": injected,
        "migrants_became_best": sum(1 for e in run.events_of("migrant_evaluated")
                                    if e.get("became_best")),
        "stopped": (run.events_of("stopped") or [{}])[-1].get("reason"),
    }


# -- figures ---------------------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_fitness(runs: list[IslandRun], x_key: str, x_label: str, path: Path) -> None:
    """Best training sample (solid), generation mean (dashed) and champion (dots) per island.

    The champion's score is its mean on a round of fresh validation seeds: the
    honest curve; the best training sample is the luckiest score seen so far.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for run in runs:
        rows = [r for r in run.log if r.get(x_key) is not None]
        xs = [r[x_key] for r in rows]
        (line,) = ax.plot(xs, [r.get("best") for r in rows], label=f"{run.name} best")
        ax.plot(xs, [r.get("mean") for r in rows], linestyle="--", color=line.get_color(),
                alpha=0.6, label=f"{run.name} mean")
        champion = [r.get("champion", float("nan")) for r in rows]
        if any(c == c for c in champion):  # some generation had a champion (not all NaN)
            ax.plot(xs, champion, linestyle=":", linewidth=2.0, color=line.get_color(),
                    label=f"{run.name} champion")
    ax.set_xlabel(x_label)
    ax.set_ylabel("mean episode return")
    ax.grid(alpha=0.3)
    if runs:
        ax.legend(fontsize="x-small", ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_migration(flow: dict[tuple[str, str], dict[str, int]], islands: list[str],
                   path: Path) -> None:
    """One heatmap per outcome: rows are origin islands, columns receiving islands."""
    import numpy as np

    plt = _pyplot()
    origins = sorted({o for o, _ in flow} | set(islands))
    fig, axes = plt.subplots(1, len(OUTCOMES), figsize=(4 * len(OUTCOMES) + 1, 4), squeeze=False)
    for ax, outcome in zip(axes[0], OUTCOMES, strict=True):
        matrix = np.array([[flow.get((o, r), {}).get(outcome, 0) for r in islands]
                           for o in origins])
        ax.imshow(matrix, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(islands)), islands, rotation=45, ha="right")
        ax.set_yticks(range(len(origins)), origins)
        ax.set_xlabel("receiving island")
        ax.set_ylabel("origin island")
        ax.set_title(outcome)
        top = matrix.max() if matrix.size else 0
        for (i, j), count in np.ndenumerate(matrix):
            ax.text(j, i, str(count), ha="center", va="center",
                    color="black" if top and count > top / 2 else "white", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_rules(runs: list[IslandRun], path: Path) -> None:
    """One panel per island: each rule parameter of its best genome against generation."""
    plt = _pyplot()
    cols = min(3, max(1, len(runs)))
    rows = (len(runs) + cols - 1) // cols or 1
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.5 * rows), squeeze=False)
    for ax in axes.flat[len(runs):]:
        ax.axis("off")
    for ax, run in zip(axes.flat, runs, strict=False):
        records = [r for r in run.log if isinstance(r.get("rules"), dict)]
        names = sorted({k for r in records for k in r["rules"]})
        for name in names:
            ax.plot([r.get("generation") for r in records],
                    [r["rules"].get(name) for r in records], label=name, linewidth=1)
        ax.set_title(f"{run.name} ({run.setting('evaluation', 'rule_family')})", fontsize="small")
        ax.set_xlabel("generation", fontsize="small")
        ax.tick_params(labelsize="x-small")
        if names:
            ax.legend(fontsize="xx-small", ncol=2)
        else:
            ax.text(0.5, 0.5, "no rule parameters", ha="center", va="center",
                    transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- report ----------------------------------------------------------------------------------

COLUMNS = [("island", "island"), ("env", "env"), ("kind", "kind"), ("rule_family", "rule family"),
           ("generations", "generations"), ("evaluations", "evaluations"),
           ("best_training", "best training fitness"), ("champion", "champion validation"),
           ("held_out_mean", "held-out mean"),
           ("migrants_received", "migrants received"),
           ("migrants_injected", "migrants injected"),
           ("migrants_became_best", "migrants that became best")]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def render_html(rows: list[dict[str, Any]], images: dict[str, Path]) -> str:
    """A self-contained page: the table, then every figure as a base64 data URI."""
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row[key]))}</td>" for key, _ in COLUMNS)
        + "</tr>" for row in rows)
    figures = "".join(
        f"<h2>{html.escape(title)}</h2><img alt=\"{html.escape(title)}\" "
        f"src=\"data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}\">"
        for title, p in images.items())
    return (
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>island-network report"
        "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}img{max-width:100%}"
        "</style></head><body><h1>island-network report</h1>"
        f"<table><tr>{head}</tr>{body}</table>{figures}</body></html>\n"
    )


def write_report(paths: list[str | Path], out: str | Path) -> dict[str, Any]:
    """Read every run directory under `paths`; write PNGs, report.html and summary.json."""
    runs = [load_run(p) for p in find_run_dirs(paths)]
    ids = [run.node_id for run in runs]
    for run in runs:
        if ids.count(run.node_id) > 1:
            run.label = f"{run.node_id} ({run.path.name})"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = [run.name for run in runs]
    flow = migration_flow(runs)
    images = {
        "Fitness against evaluations": out / "fitness_evaluations.png",
        "Fitness against wall time": out / "fitness_wall.png",
        "Migration flow (origin to receiver)": out / "migration.png",
        "Rule parameters of each island's best": out / "rules.png",
    }
    paths_of = list(images.values())
    plot_fitness(runs, "evaluations", "episode evaluations", paths_of[0])
    plot_fitness(runs, "wall", "wall time (s)", paths_of[1])
    plot_migration(flow, names, paths_of[2])
    plot_rules(runs, paths_of[3])
    rows = [summary_row(run) for run in runs]
    summary = {
        "islands": rows,
        "migration": [{"origin": o, "receiver": r, **counts}
                      for (o, r), counts in sorted(flow.items())],
        "figures": [p.name for p in paths_of],
    }
    (out / "report.html").write_text(render_html(rows, images), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def format_table(rows: list[dict[str, Any]]) -> str:
    """The summary table as aligned plain text, for the terminal."""
    table = [[label for _, label in COLUMNS]] + [[_cell(r[k]) for k, _ in COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
                     for line in table)
