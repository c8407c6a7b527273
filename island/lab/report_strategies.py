"""The report's learning-strategy panel: what each island's rule does, and where rules went.

Per island: its champion's within-lifetime learning curve beside the same genome
with plasticity off (learning rate and decay at their floors), both re-scored here
on the same held-out lifetimes, and its rule's parameters by layer. Across islands:
which rules migrated where (accepted whole or grafted onto the receiver's best) and
which of those migrants became the receiver's champion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np

from island.config import EvaluationConfig
from island.record import Champion, MigrantEvaluated

if TYPE_CHECKING:
    from island.lab.report import IslandRun

PLASTICITY_OFF = "no plasticity"


@dataclass
class Ablation:
    """One island's champion and its plasticity-off twin on the same held-out lifetimes."""

    island: str
    env: str
    curve: list[float]  # episode index -> mean return, champion
    frozen_curve: list[float]  # the same with plasticity off
    mean: float  # lifetime scores (the run's own lifetime fitness)
    frozen_mean: float
    rules: dict[str, float]

    def summary(self) -> StrategyRow:
        return StrategyRow(island=self.island, env=self.env, curve=self.curve,
                           frozen_curve=self.frozen_curve, mean=self.mean,
                           frozen_mean=self.frozen_mean,
                           plasticity_gain=self.mean - self.frozen_mean)


class StrategyRow(msgspec.Struct, kw_only=True):
    """An Ablation as summary.json's `learning_strategies` lists it."""

    island: str
    env: str
    curve: list[float]
    frozen_curve: list[float]
    mean: float
    frozen_mean: float
    plasticity_gain: float


class MigratedRule(msgspec.Struct, kw_only=True):
    """Migrants of one origin that one receiver injected with one outcome, and what became
    of them (summary.json's `migrated_rules`)."""

    origin: str
    receiver: str
    outcome: str
    evaluated: int = 0
    became_best: int = 0
    became_champion: int = 0


def ablation(run: IslandRun, lifetimes: int) -> Ablation | None:
    """Score the island's best genome and its plasticity-off twin (None: nothing to score).

    An island on several environments is scored in the first (its genome's own network).
    """
    from envs import Evaluator, UnknownEnvironmentError
    from genome.codec import GenomeDecodeError
    from genome.layout import named_rules
    from island.lab.genome_file import GenomeFile
    from island.lab.rule_study import baselines, score_held_out
    from island.record import RecordError

    try:
        saved = GenomeFile.read(run.path / "best.msgpack")
    except (OSError, GenomeDecodeError, RecordError):
        return None
    if not saved.spec.kind.has_rules:
        return None
    lifetime = saved.lifetime
    try:
        spec, x, settings = saved.scored_in()
        rows = baselines(spec, x, 0)  # the genome and its plasticity-off twin
        with Evaluator(settings, workers=0) as evaluator:
            evolved, frozen = (score_held_out(evaluator, name, rows[name], lifetimes, lifetime)
                               for name in ("evolved", PLASTICITY_OFF))
    except (ValueError, UnknownEnvironmentError):
        return None
    return Ablation(run.name, settings.env_id, evolved.curve, frozen.curve, evolved.mean,
                    frozen.mean, named_rules(spec, x))


def migrated_rules(runs: list[IslandRun]) -> list[MigratedRule]:
    """One row per (origin, receiver, outcome) of injected migrants: how many, how many became
    the receiver's best training sample, and how many then won a champion round."""
    rows: dict[tuple[str, str, str], MigratedRule] = {}
    for run in runs:
        champions = _migrants_that_became_champion(run)
        for event in run.events_of(MigrantEvaluated):
            key = (event.origin, run.name, event.outcome)
            row = rows.setdefault(key, MigratedRule(origin=key[0], receiver=key[1],
                                                    outcome=key[2]))
            row.evaluated += 1
            row.became_best += event.became_best
            row.became_champion += champions.count((event.origin, event.generation))
    return sorted(rows.values(), key=lambda r: (r.receiver, r.origin, r.outcome))


def _migrants_that_became_champion(run: IslandRun) -> list[tuple[Any, Any]]:
    """(origin, generation) of the migrants whose round crowned them champion.

    A champion round's "sample" candidate is the best training sample since the last
    round (island/champion.py): the top of the generation with the highest `gen_best`
    in that window. When a migrant scored exactly that top, the champion is the migrant.
    """
    gen_best = {r.generation: r.gen_best for r in run.log}
    tops = {(e.generation, e.measured): e.origin for e in run.events_of(MigrantEvaluated)}
    every = (run.evaluation or EvaluationConfig()).validate_every
    crowned = []
    for event in run.events_of(Champion):
        generation = event.generation
        window = {g: f for g, f in gen_best.items()
                  if generation - every < g <= generation and f is not None}
        if event.origin != "sample" or not window:
            continue
        top = max(window, key=window.get)
        origin = tops.get((top, window[top]))
        if origin is not None:
            crowned.append((origin, top))
    return crowned


def plot_strategies(ablations: list[Ablation], path: Path) -> None:
    """One row per island: learning curve with and without plasticity, then its rule."""
    from matplotlib.ticker import MaxNLocator

    from island.lab.report_figures import _pyplot

    plt = _pyplot()
    fig, axes = plt.subplots(len(ablations), 2, figsize=(13, 3.2 * len(ablations)),
                             squeeze=False, gridspec_kw={"width_ratios": [1, 1.4]})
    for (curve_ax, rule_ax), a in zip(axes, ablations, strict=True):
        episodes = range(1, len(a.curve) + 1)
        curve_ax.plot(episodes, a.curve, marker="o", linewidth=2,
                      label=f"champion ({a.mean:.1f})")
        curve_ax.plot(episodes, a.frozen_curve, marker="s", linestyle="--", color="grey",
                      label=f"plasticity off ({a.frozen_mean:.1f})")
        curve_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        curve_ax.set_title(f"{a.island}: learning in {a.env}")
        curve_ax.set_xlabel("episode within the lifetime")
        curve_ax.set_ylabel("mean held-out return")
        curve_ax.grid(alpha=0.3)
        curve_ax.legend(frameon=False)
        names = list(a.rules)
        values = np.array([a.rules[n] for n in names])
        rule_ax.bar(range(len(names)), values, color=["C0" if v >= 0 else "C3" for v in values])
        rule_ax.set_yscale("symlog", linthresh=1e-3)
        rule_ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        rule_ax.set_title(f"{a.island}: its rule")
        rule_ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def migration_table_html(rows: list[MigratedRule]) -> str:
    """The migrated-rules table for report.html."""
    import html

    head = ("<tr><th>origin</th><th>receiver</th><th>outcome</th><th>evaluated</th>"
            "<th>became best</th><th>became champion</th></tr>")
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(getattr(r, k)))}</td>" for k in (
        "origin", "receiver", "outcome", "evaluated", "became_best", "became_champion"))
        + "</tr>" for r in rows)
    return ("<h2>Which rules migrated where</h2><p class=\"caption\">Migrants each island "
            "injected and scored itself: accepted whole (same genome spec) or grafted (only "
            "the rule, onto the receiver's best), how many became its best training sample and "
            "how many then won a champion round on fresh validation seeds.</p>"
            f"<table>{head}{body}</table>")
