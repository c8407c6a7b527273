"""A report of one or more run directories: fitness curves, migration flow, rules, a table.

Reads only what nodes write (`config.toml`, `log.jsonl`, `events.jsonl`), so it works
on copied directories and on partial runs: a torn last line, a missing events file
or a node killed before its held-out score all leave the report with less, not broken.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import msgspec

from island.config import ConfigError, EvaluationConfig, NodeConfig, read_config
from island.lab.report_figures import (
    OUTCOMES,
    learning_curves,
    plot_fitness,
    plot_learning_curves,
    plot_migration,
    plot_rules,
)
from island.lab.report_page import (
    Figure,
    IslandSummary,
    format_table,
    render_html,
    strategy,
    summary_paragraph,
)
from island.lab.report_strategies import (
    Ablation,
    MigratedRule,
    StrategyRow,
    ablation,
    migrated_rules,
    migration_table_html,
    plot_strategies,
)
from island.record import (
    AnyEvent,
    Event,
    GenerationRecord,
    HeldOut,
    MigrantArrived,
    MigrantEvaluated,
    RecordError,
    Stopped,
    of_kind,
    read_events,
    read_generations,
)

MARKERS = ("log.jsonl", "events.jsonl", "config.toml")
GIF_FRAMES = 200  # a champion GIF's frame budget: whole episodes, fewer frames when long
E = TypeVar("E", bound=Event)

__all__ = ["ReportError", "find_run_dirs", "format_table", "write_report"]


class ReportError(ValueError):
    """Nothing to report on; the message names the path."""


@dataclass
class IslandRun:
    """What one node's run directory holds."""

    path: Path
    config: NodeConfig | None = None  # None: its config.toml is missing
    log: list[GenerationRecord] = field(default_factory=list)
    events: list[AnyEvent] = field(default_factory=list)
    label: str = ""  # set when two runs share a node id (standalone runs on one host)

    @property
    def node_id(self) -> str:
        return (self.config.run.node_id if self.config else None) or self.path.name

    @property
    def name(self) -> str:
        return self.label or self.node_id

    @property
    def evaluation(self) -> EvaluationConfig | None:
        """Its [evaluation] section (None without a config.toml)."""
        return self.config.evaluation if self.config else None

    def events_of(self, kind: type[E], *names: str) -> list[E]:
        """Its events of type `kind` (and, given `names`, of those kinds only)."""
        return of_kind(self.events, kind, *names)


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
        config = read_config(path / "config.toml") if (path / "config.toml").exists() else None
        return IslandRun(path, config, read_generations(path / "log.jsonl"),
                         read_events(path / "events.jsonl"))
    except (RecordError, ConfigError) as exc:
        raise ReportError(str(exc)) from None


def migration_flow(runs: list[IslandRun]) -> dict[tuple[str, str], dict[str, int]]:
    """(origin island, receiving island) -> counts of accepted, grafted and dropped migrants."""
    flow: dict[tuple[str, str], dict[str, int]] = {}
    for run in runs:
        for event in run.events_of(MigrantArrived):
            if event.event == "migrant_injected":
                outcome = event.outcome
                if outcome not in ("accepted", "grafted"):
                    continue
            else:
                outcome = "dropped"
            counts = flow.setdefault((event.origin, run.name), dict.fromkeys(OUTCOMES, 0))
            counts[outcome] += 1
    return flow


def summary_row(run: IslandRun) -> IslandSummary:
    """One island's line of the summary table."""
    last = run.log[-1] if run.log else None
    held = run.events_of(HeldOut)
    injected = len(run.events_of(MigrantArrived, "migrant_injected"))
    stops = run.events_of(Stopped)
    return IslandSummary(
        island=run.name, run_dir=str(run.path),
        env=run.evaluation.env if run.evaluation else "-",
        kind=run.evaluation.kind if run.evaluation else "-",
        rule_family=run.evaluation.rule_family if run.evaluation else "-",
        generations=last.generation if last else 0,
        evaluations=last.evaluations if last else 0,
        best_training=last.best if last else None,
        champion=last.champion if last else None,
        held_out_mean=held[-1].held_out_mean if held else None,
        migrants_received=injected + len(run.events_of(MigrantArrived, "migrant_dropped")),
        migrants_injected=injected,
        migrants_became_best=sum(e.became_best for e in run.events_of(MigrantEvaluated)),
        stopped=stops[-1].reason if stops else None)


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


def load_runs(paths: list[str | Path]) -> list[IslandRun]:
    """Every run directory under `paths`; runs that share a node id are told apart by folder."""
    runs = [load_run(p) for p in find_run_dirs(paths)]
    ids = [run.node_id for run in runs]
    for run in runs:
        if ids.count(run.node_id) > 1:
            run.label = f"{run.node_id} ({run.path.name})"
    return runs


def _strategies_figure(runs: list[IslandRun], lifetimes: int,
                       out: Path) -> tuple[list[Ablation], Figure | None]:
    """Each island's champion with and without plasticity on `lifetimes` held-out lifetimes."""
    ablations = [a for a in (ablation(run, lifetimes) for run in runs)
                 if a is not None] if lifetimes else []
    if not ablations:
        return [], None
    figure = Figure(
        "Learning strategies: each island's champion with and without plasticity",
        out / "strategies.png",
        f"Left: mean return by episode within a lifetime on {lifetimes} held-out "
        "lifetimes, the champion (solid) against the same genome with its learning rate "
        "and decay at their floors (dashed), on the same seeds and initial weights: the gap "
        "is what the rule learns. Right: its rule's parameters (symmetric log scale).")
    plot_strategies(ablations, figure.path)
    return ablations, figure


def _summary_rows(runs: list[IslandRun], ablations: list[Ablation],
                  strategy_lifetimes: int) -> list[IslandSummary]:
    """One row per island, a report's own held-out score where its run left none."""
    rows = [summary_row(run) for run in runs]
    rescored = {a.island: a.mean for a in ablations}
    for run, row in zip(runs, rows, strict=True):
        if row.held_out_mean is None and strategy_lifetimes:
            row.held_out_rescored = rescored.get(run.name) or held_out_rescore(
                run, strategy_lifetimes)
        row.strategy = strategy(row.kind, _last_rules(run))
    return rows


class MigrationFlow(msgspec.Struct, kw_only=True):
    """Migrants from one island that another accepted, grafted or dropped."""

    origin: str
    receiver: str
    accepted: int
    grafted: int
    dropped: int


class ReportSummary(msgspec.Struct, kw_only=True):
    """The report's `summary.json`: what `island-report` prints and a reader reads back
    (`read_summary`)."""

    summary: str  # the paragraph atop report.html
    islands: list[IslandSummary]
    migration: list[MigrationFlow]
    figures: list[str]  # file names in the report folder
    learning_strategies: list[StrategyRow]
    migrated_rules: list[MigratedRule]
    videos: dict[str, str]  # island -> GIF path within the report folder


def read_summary(path: str | Path) -> ReportSummary:
    """A report's summary.json; RecordError, one line, for another version's."""
    try:
        return msgspec.json.decode(Path(path).read_bytes(), type=ReportSummary)
    except msgspec.DecodeError as exc:
        raise RecordError(f"{path}: not a report summary of this version ({exc})") from None


def write_report(paths: list[str | Path], out: str | Path, videos: bool = True,
                 strategy_lifetimes: int = 20) -> ReportSummary:
    """Read every run directory under `paths`; write PNGs, GIFs, report.html and summary.json.

    `strategy_lifetimes` held-out lifetimes re-score each island's best with and
    without plasticity for the learning-strategy panel (0 leaves it out)."""
    runs = load_runs(paths)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    flow = migration_flow(runs)
    figures = _figures(runs, flow, out)
    clips = {}
    for run in runs if videos else []:
        clip = champion_video(run, out / "videos")
        if clip is not None:
            clips[run.name] = clip
    ablations, panel = _strategies_figure(runs, strategy_lifetimes, out)
    figures += [panel] if panel else []
    migrated = migrated_rules(runs)
    rows = _summary_rows(runs, ablations, strategy_lifetimes)
    paragraph = summary_paragraph(rows, {row.island: row.strategy for row in rows})
    summary = ReportSummary(
        summary=paragraph, islands=rows,
        migration=[MigrationFlow(origin=o, receiver=r, **counts)
                   for (o, r), counts in sorted(flow.items())],
        figures=[f.path.name for f in figures],
        learning_strategies=[a.summary() for a in ablations], migrated_rules=migrated,
        videos={name: str(gif.relative_to(out)) for name, (gif, _) in clips.items()})
    page = render_html(rows, paragraph, figures, clips,
                       migration_table_html(migrated) if migrated else "")
    (out / "report.html").write_text(page, encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(msgspec.to_builtins(summary), indent=2) + "\n",
                                      encoding="utf-8")
    return summary


def _last_rules(run: IslandRun) -> dict[str, float]:
    return dict(run.log[-1].rules) if run.log else {}
