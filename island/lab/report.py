"""A report of one or more run directories: fitness curves, migration flow, rules, a table.

Reads only what nodes write (`config.toml`, `log.jsonl`, `events.jsonl`), so it works
on copied directories and on partial runs: a torn last line, a missing events file
or a node killed before its held-out score all leave the report with less, not broken.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from island.lab.report_figures import (
    OUTCOMES,
    learning_curves,
    plot_fitness,
    plot_learning_curves,
    plot_migration,
    plot_rules,
)
from island.lab.report_page import Figure, format_table, render_html, strategy, summary_paragraph
from island.lab.report_strategies import (
    ablation,
    migrated_rules,
    migration_table_html,
    plot_strategies,
)
from island.runlog import read_jsonl

MARKERS = ("log.jsonl", "events.jsonl", "config.toml")
GIF_FRAMES = 200  # a champion GIF's frame budget: whole episodes, fewer frames when long
__all__ = ["ReportError", "find_run_dirs", "format_table", "write_report"]


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


def held_out_rescore(run: IslandRun, lifetimes: int) -> float | None:
    """The run's best genome's mean on `lifetimes` held-out lifetimes (None: none saved)."""
    from envs import Evaluator, UnknownEnvironmentError
    from genome.codec import GenomeDecodeError
    from island.lab.genome_file import GenomeFile
    from island.lab.rule_study import score_held_out

    try:
        saved = GenomeFile.read(run.path / "best.msgpack")
        _, x, settings = saved.scored_in()
        with Evaluator(settings, workers=0) as evaluator:
            return score_held_out(evaluator, run.name, x, lifetimes, saved.lifetime).mean
    except (OSError, GenomeDecodeError, UnknownEnvironmentError, ValueError):
        return None


# -- champion videos -------------------------------------------------------------------------


def champion_video(run: IslandRun, out: Path) -> tuple[Path, str] | None:
    """A GIF of the island's best genome in its whole first held-out lifetime, and its note.

    None when the run saved no genome or its environment cannot be rendered here.
    """
    from envs import UnknownEnvironmentError
    from envs.recording import record_lifetimes
    from genome.codec import GenomeDecodeError
    from island.lab.genome_file import GenomeFile

    try:
        saved = GenomeFile.read(run.path / "best.msgpack")
        _, x, settings = saved.scored_in()
        lifetime = saved.lifetime
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run.name)
        recording = record_lifetimes(settings, x, out, 1, lifetime, stem=safe, every=3,
                                     width=240, max_frames=GIF_FRAMES, mp4=False)
    except (OSError, GenomeDecodeError, UnknownEnvironmentError, ValueError):
        return None
    episodes = recording.episode_returns[0]
    shown = f"{len(episodes)} episodes, returns " + ", ".join(f"{r:.0f}" for r in episodes) \
        if len(episodes) > 1 else f"return {episodes[0]:.1f}"
    stride = 3 * recording.stride
    return recording.gif, (f"{shown} (the whole lifetime in {recording.frames} frames, "
                           f"every {stride}th step)")


# -- report ----------------------------------------------------------------------------------


def _figures(runs: list[IslandRun], flow: dict[tuple[str, str], dict[str, int]],
             out: Path) -> list[Figure]:
    names = [run.name for run in runs]
    figures = [
        Figure("Fitness against evaluations", out / "fitness_evaluations.png",
               "Thick lines are each island's champion, scored on fresh validation seeds: the "
               "honest curve. Thin lines are the luckiest training sample, dashed ones the "
               "generation mean. Compare islands at the same number of evaluations: the one "
               "whose thick line rises first learns the most per episode spent."),
        Figure("Fitness against wall time", out / "fitness_wall.png",
               "The same curves against seconds: an island with a cheaper genome or a faster "
               "environment can win here while losing per evaluation."),
        Figure("Migration flow (origin to receiver)", out / "migration.png",
               "Each cell counts migrants from the row's island received by the column's. "
               "Accepted: same genome spec, injected whole; grafted: only the learning rule was "
               "taken; dropped: incompatible. A full 'dropped' panel means islands that cannot "
               "share anything."),
        Figure("Rule parameters of each island's best", out / "rules.png",
               "Each island's rule, layer by layer, over the generations (symmetric log scale). "
               "Flat lines late in the run mean the rule has settled; a learning rate (eta) "
               "pushed to its floor means evolution switched plasticity off."),
    ]
    plot_fitness(runs, "evaluations", "episode evaluations", figures[0].path)
    plot_fitness(runs, "wall", "wall time (s)", figures[1].path)
    plot_migration(flow, names, figures[2].path)
    plot_rules(runs, figures[3].path)
    curves = learning_curves(runs)
    if curves:
        figures.append(Figure(
            "Within-lifetime learning of each island's best", out / "learning.png",
            "Mean held-out return by episode within a lifetime (fresh weights at its start, "
            "carried from episode to episode): a rising line is a rule that learns during the "
            "lifetime; a flat one acts from its first episode as it will at its last."))
        plot_learning_curves(curves, figures[-1].path)
    return figures


def write_report(paths: list[str | Path], out: str | Path, videos: bool = True,
                 strategy_lifetimes: int = 20) -> dict[str, Any]:
    """Read every run directory under `paths`; write PNGs, GIFs, report.html and summary.json.

    `strategy_lifetimes` held-out lifetimes re-score each island's best with and
    without plasticity for the learning-strategy panel (0 leaves it out)."""
    runs = [load_run(p) for p in find_run_dirs(paths)]
    ids = [run.node_id for run in runs]
    for run in runs:
        if ids.count(run.node_id) > 1:
            run.label = f"{run.node_id} ({run.path.name})"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    flow = migration_flow(runs)
    figures = _figures(runs, flow, out)
    clips = {}
    if videos:
        for run in runs:
            clip = champion_video(run, out / "videos")
            if clip is not None:
                clips[run.name] = clip
    ablations = [a for a in (ablation(run, strategy_lifetimes) for run in runs)
                 if a is not None] if strategy_lifetimes else []
    if ablations:
        figures.append(Figure(
            "Learning strategies: each island's champion with and without plasticity",
            out / "strategies.png",
            f"Left: mean return by episode within a lifetime on {strategy_lifetimes} held-out "
            "lifetimes, the champion (solid) against the same genome with its learning rate "
            "and decay at their floors (dashed), on the same seeds and initial weights: the gap "
            "is what the rule learns. Right: its rule's parameters (symmetric log scale)."))
        plot_strategies(ablations, figures[-1].path)
    migrated = migrated_rules(runs)
    rows = [summary_row(run) for run in runs]
    rescored = {a.island: a.mean for a in ablations}
    for run, row in zip(runs, rows, strict=True):
        if row["held_out_mean"] is None and strategy_lifetimes:
            row["held_out_rescored"] = rescored.get(run.name) or held_out_rescore(
                run, strategy_lifetimes)
    strategies = {run.name: strategy(str(run.setting("evaluation", "kind")), _last_rules(run))
                  for run in runs}
    for row in rows:
        row["strategy"] = strategies[row["island"]]
    paragraph = summary_paragraph(rows, strategies)
    summary = {
        "summary": paragraph,
        "islands": rows,
        "migration": [{"origin": o, "receiver": r, **counts}
                      for (o, r), counts in sorted(flow.items())],
        "figures": [f.path.name for f in figures],
        "learning_strategies": [a.to_dict() for a in ablations],
        "migrated_rules": migrated,
        "videos": {name: str(gif.relative_to(out)) for name, (gif, _) in clips.items()},
    }
    page = render_html(rows, paragraph, figures, clips,
                       migration_table_html(migrated) if migrated else "")
    (out / "report.html").write_text(page, encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _last_rules(run: IslandRun) -> dict[str, float]:
    for record in reversed(run.log):
        if isinstance(record.get("rules"), dict):
            return record["rules"]
    return {}
