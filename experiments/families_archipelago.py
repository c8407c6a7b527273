"""Founding question 3: islands x learning strategies.

An archipelago of islands with different rule families (hebbian, oja, threefactor)
against the same number of islands with one family (threefactor), same population
and evaluations per island, same seeds, pure meta-learning (`rules`: random initial
weights every lifetime) on one environment. Migrants flow inside each archipelago;
between families they cannot (a rule of another family has other parameters: the
receiver drops it and counts it), so the question is whether diversity of strategies
is worth more than exchange.

Each archipelago's answer is its island with the best champion *validation* score
(training seeds), scored by `island-eval --compare 5` on 100 held-out lifetimes from
2^31 + REPORT_OFFSET (seeds used for nothing else); "evaluations to reach" counts the
archipelago's total evaluations until its best champion first reached a level.

    .venv/bin/python experiments/families_archipelago.py --out runs/families

Writes DIR/summary.json, DIR/summary.md and DIR/families.png. Runs that finished are
read, not repeated.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import tomli_w
from cached import BIN, island_eval, last_log

from island.record import GenerationRecord, MigrantArrived, of_kind, read_events, read_generations

REPORT_OFFSET = 300_000
ARMS = {"mixed": ["hebbian", "oja", "threefactor"],
        "threefactor only": ["threefactor", "threefactor", "threefactor"]}


def experiment(args: argparse.Namespace, families: list[str], seed: int) -> dict[str, Any]:
    """An island-cluster experiment file: one island per family, the same budget each."""
    return {
        "evaluation": {"env": args.env, "kind": "rules", "hidden": [], "episodes": args.episodes,
                       "lifetime": args.lifetime, "max_steps": args.max_steps, "workers": 1,
                       "validation_episodes": 5, "validate_every": 5},
        "evolution": {"popsize": args.popsize},
        "migration": {"interval": 5, "migrants": 2},
        "stop": {"max_evals": args.evals, "target": "none", "final_episodes": 0},
        "gossip": {"fanout": 2, "topology": "full"},
        "island": [{"name": f"{family}-{i}", "evaluation": {"rule_family": family},
                    "evolution": {"seed": seed * 100 + i}}
                   for i, family in enumerate(families, start=1)],
    }


def champion_curve(runs: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """(total evaluations, best champion validation so far) of an archipelago, by generation.

    Islands run side by side at about the same speed, so the archipelago has spent
    n_islands x an island's evaluations when that island logged a generation."""
    logs = [read_generations(run / "log.jsonl") for run in runs]
    depth = min(len(log) for log in logs)
    evals, best = [], []
    for g in range(depth):
        evals.append(sum(log[g].evaluations for log in logs))
        scores = [log[g].champion for log in logs if log[g].champion is not None]
        best.append(max(scores) if scores else np.nan)
    return np.array(evals), np.fmax.accumulate(np.array(best))


def _champion(last: GenerationRecord | None) -> float:
    """The champion's last validation score (-inf: none yet)."""
    return last.champion if last is not None and last.champion is not None else -np.inf


class ArmRow(msgspec.Struct):
    """One arm and seed: a row of summary.json and of the table."""

    arm: str
    seed: int
    chosen: str  # the island whose champion validated best
    validation: float
    held_out: float
    stderr: float
    random_best: float
    no_plasticity: float
    evaluations: int
    curve_evaluations: list[float]
    curve_champion: list[float]
    migrants_injected: int
    migrants_dropped: int


def run_arm(args: argparse.Namespace, arm: str, seed: int) -> ArmRow:
    out = args.out / f"{arm.replace(' ', '-')}-s{seed}"
    families = ARMS[arm]
    names = [f"{family}-{i}" for i, family in enumerate(families, start=1)]
    runs = [out / name for name in names]
    if not all((last := last_log(run)) and last.evaluations >= args.evals for run in runs):
        path = args.out / f"{out.name}.toml"
        path.write_text(tomli_w.dumps(experiment(args, families, seed)))
        subprocess.run([BIN / "island-cluster", path, "--out", out], check=True,
                       stdout=subprocess.DEVNULL)
    validation = {run.name: _champion(last_log(run)) for run in runs}
    chosen = max(runs, key=lambda r: validation[r.name])
    scored = island_eval(chosen / "best.msgpack", out / "report.json", args.report_episodes,
                         REPORT_OFFSET, args.workers)
    rows = scored.by_name
    evals, curve = champion_curve(runs)
    arrived = [e for run in runs for e in of_kind(read_events(run / "events.jsonl"),
                                                  MigrantArrived)]
    drops = sum(e.event == "migrant_dropped" for e in arrived)
    injected = sum(e.event == "migrant_injected" for e in arrived)
    return ArmRow(arm=arm, seed=seed, chosen=chosen.name, validation=validation[chosen.name],
                  held_out=rows["evolved"].mean, stderr=rows["evolved"].stderr,
                  random_best=max(r.mean for n, r in rows.items() if n.startswith("random")),
                  no_plasticity=rows["no plasticity"].mean,
                  evaluations=int(evals[-1]) if len(evals) else 0,
                  curve_evaluations=evals.tolist(), curve_champion=curve.tolist(),
                  migrants_injected=injected, migrants_dropped=drops)


def evaluations_to(row: ArmRow, level: float) -> int | None:
    for evals, score in zip(row.curve_evaluations, row.curve_champion, strict=True):
        if score >= level:
            return int(evals)
    return None


def figure(rows: list[ArmRow], path: Path, env: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (curves, bars) = plt.subplots(1, 2, figsize=(12, 4.5))
    for colour, arm in zip(("C0", "C1"), ARMS, strict=False):
        for r in (r for r in rows if r.arm == arm):
            curves.plot(r.curve_evaluations, r.curve_champion, color=colour, alpha=0.8,
                        label=f"{arm}" if r.seed == rows[0].seed else None)
    curves.set_xlabel("episode evaluations of the whole archipelago")
    curves.set_ylabel("best champion validation score")
    curves.set_title(f"{env}: best island's champion (training seeds)")
    curves.grid(alpha=0.3)
    curves.legend(frameon=False)
    arms = list(ARMS)
    for i, arm in enumerate(arms):
        scores = [r.held_out for r in rows if r.arm == arm]
        errors = [2 * r.stderr for r in rows if r.arm == arm]
        xs = i + np.linspace(-0.2, 0.2, len(scores))
        bars.errorbar(xs, scores, yerr=errors, fmt="o", color=f"C{i}")
        bars.hlines(np.mean(scores), i - 0.3, i + 0.3, color=f"C{i}")
    bars.set_xticks(range(len(arms)), arms)
    bars.set_ylabel("held-out score of the chosen island (+- 2 SE)")
    bars.set_title("each seed's answer on 100 held-out lifetimes")
    bars.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def table(rows: list[ArmRow], level: float) -> str:
    lines = ["| archipelago | seed | chosen island | evaluations | validation | held-out ± SE | "
             "best of 5 random rules | plasticity off | evaluations to reach "
             f"{level:g} | migrants injected / dropped |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        reach = evaluations_to(r, level)
        lines.append(f"| {r.arm} | {r.seed} | {r.chosen} | {r.evaluations:,} | "
                     f"{r.validation:.1f} | {r.held_out:.1f} ± {r.stderr:.1f} | "
                     f"{r.random_best:.1f} | {r.no_plasticity:.1f} | "
                     f"{'-' if reach is None else f'{reach:,}'} | "
                     f"{r.migrants_injected} / {r.migrants_dropped} |")
    for arm in ARMS:
        scores = [r.held_out for r in rows if r.arm == arm]
        lines.append(f"| **{arm}: mean over seeds** | | | | | {np.mean(scores):.1f} | | | | |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/families"))
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--evals", type=int, default=6000, help="episode evaluations per island")
    parser.add_argument("--popsize", type=int, default=8)
    parser.add_argument("--episodes", type=int, default=2, help="lifetimes per evaluation")
    parser.add_argument("--lifetime", type=int, default=5, help="episodes per lifetime")
    parser.add_argument("--max-steps", type=int, default=200)
    parser.add_argument("--level", type=float, default=100.0,
                        help="the score 'evaluations to reach' is counted for")
    parser.add_argument("--report-episodes", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for arm in ARMS:
            rows.append(run_arm(args, arm, seed))
            print(json.dumps({k: v for k, v in msgspec.structs.asdict(rows[-1]).items()
                              if not k.startswith("curve")}), flush=True)
    (args.out / "summary.json").write_text(json.dumps({"args": {
        k: str(v) for k, v in vars(args).items()}, "rows": msgspec.to_builtins(rows)}, indent=2))
    (args.out / "summary.md").write_text(table(rows, args.level) + "\n")
    figure(rows, args.out / "families.png", args.env)
    print(table(rows, args.level))
    return 0


if __name__ == "__main__":
    sys.exit(main())
