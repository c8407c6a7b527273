"""Pure meta-learning: a few rule parameters make random networks learn, within one lifetime.

For each environment: one `island-node` evolves a `rules` genome of a rule
family (`--family`: `threefactor`, `learned`, `perturbation`, `recurrent`,
`recurrent-explore`, `recurrent-explore-antithetic`, `neuron-state` or `contingency`; a linear
network unless
`--hidden`, random initial weights every lifetime),
then `island-eval --json --compare 5` scores its champion on 100 held-out
lifetimes against 5 random rules, the same rule with learning off (decay, noise
and perturbations kept) and with plasticity off, and each constant action, on
held-out seeds from 2^31 + REPORT_OFFSET up (or `--held-out-start N`). Those seeds
are used for nothing else: the node itself chose its champion on training seeds (< 2^31) and scored
it at the end on seeds from 2^31 up, which this report does not use.

    .venv/bin/python experiments/meta_learning.py --out runs/meta [--envs CartPole-v1 ...]
        [--family learned] [--max-evals N] [--max-time SECONDS] [--normalise-obs]
        [--lifetime K] [--lifetimes L] [--popsize P] [--sigma S] [--hidden WIDTHS]

Writes `DIR/summary.json` and `DIR/summary.md` (the table of the closing note),
and copies each champion to `examples/genomes/<env>.<family>.rules.msgpack`
when `--ship` is given. Finished runs are read, not repeated; a run stopped early
is reported as it stands unless `--resume` is given.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec
from cached import BIN, ROOT, island_eval

from envs.episodes import TRAIN_FITNESS
from envs.simulators import SIMULATORS
from island.lab.rule_study import EvalReport
from island.record import HeldOut, of_kind, read_events, read_generations

REPORT_OFFSET = 100_000

# The recipe of each environment: what `island-node` was given (plus --seed, --run-dir).
RECIPES: dict[str, list[str]] = {
    "CartPole-v1": ["--hidden", "", "--lifetime", "20", "--episodes", "8", "--popsize", "16",
                    "--max-evals", "300000", "--target", "490"],
    "Acrobot-v1": ["--hidden", "", "--lifetime", "10", "--episodes", "1", "--popsize", "16",
                   "--max-evals", "300000", "--target", "-80"],
    "LunarLander-v3": ["--hidden", "", "--lifetime", "20", "--episodes", "2", "--popsize", "16",
                       "--max-evals", "300000", "--target", "200"],
}
COMMON = ["--kind", "rules", "--lifetime-fitness", "last_half", "--quiet"]


def evolve(env_id: str, run: Path, seed: int, workers: int, resume: bool,
           extra: list[str]) -> None:
    """Run the island unless it already finished (it then scored its champion).

    A run stopped early (a signal: the wall-clock budget of the experiment ran out)
    is resumed only with `resume`; otherwise its champion so far is reported.
    """
    events = read_events(run / "events.jsonl")
    if of_kind(events, HeldOut) or (events and not resume):
        return
    subprocess.run([str(BIN / "island-node"), "--env", env_id, *RECIPES[env_id], *COMMON,
                    *extra, "--seed", str(seed), "--workers", str(workers), "--run-dir", str(run)],
                   check=True)


def score(run: Path, episodes: int, workers: int, offset: int = REPORT_OFFSET) -> EvalReport:
    """The champion against its baselines (`island-eval --compare 5`), on the report's own
    seeds (kept in `RUN/report.json`, or `report-OFFSET.json` for another block: a re-run
    of the script reads it instead of scoring again)."""
    cache = run / ("report.json" if offset == REPORT_OFFSET else f"report-{offset}.json")
    return island_eval(run / "best.msgpack", cache, episodes, offset, workers)


class SummaryRow(msgspec.Struct, kw_only=True):
    """One environment's line of `summary.json`: written and read back (another invocation
    keeps the environments it did not measure). The defaults are what older rows meant."""

    env: str
    family: str = "threefactor"  # rows written before --family existed
    parameters: int
    lifetime: int
    evaluations: int
    wall_s: float
    first_episode: float
    last5: float
    last5_random_best: float
    last5_no_plasticity: float
    last5_learning_off: float | None = None
    last5_constant_best: float | None = None
    beats_all: bool | None = None
    comparisons: int | None = None
    closest: str | None = None
    closest_z: float | None = None
    held_out_seeds_from: int | None = None
    score: float
    stderr: float
    curve: list[float]


def read_summary(path: Path) -> list[SummaryRow]:
    """The rows of a `summary.json` (none when it is absent)."""
    if not path.exists():
        return []
    return msgspec.json.decode(path.read_bytes(), type=list[SummaryRow])


def summarise(env_id: str, run: Path, result: EvalReport) -> SummaryRow:
    rows = result.by_name
    last = read_generations(run / "log.jsonl")[-1]
    evolved = rows["evolved"]
    randoms = [r for name, r in rows.items() if name.startswith("random")]
    constants = [r for name, r in rows.items() if name.startswith("constant")]
    verdict = result.verdict
    return SummaryRow(
        env=env_id, family=result.rule_family,
        parameters=len(last.rules),
        lifetime=result.lifetime, evaluations=last.evaluations,
        wall_s=last.wall, first_episode=evolved.curve[0],
        last5=sum(evolved.curve[-5:]) / 5,
        last5_random_best=max(sum(r.curve[-5:]) / 5 for r in randoms),
        last5_no_plasticity=sum(rows["no plasticity"].curve[-5:]) / 5,
        last5_learning_off=(sum(rows["learning off"].curve[-5:]) / 5
                            if "learning off" in rows else None),
        last5_constant_best=(max(sum(r.curve[-5:]) / 5 for r in constants)
                             if constants else None),
        beats_all=verdict.beats_all if verdict else None,
        comparisons=verdict.comparisons if verdict else None,
        closest=verdict.closest if verdict else None,
        closest_z=verdict.closest_z if verdict else None,
        held_out_seeds_from=result.held_out_seeds_from,
        score=evolved.mean, stderr=evolved.stderr, curve=evolved.curve,
    )


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(rows: list[SummaryRow]) -> str:
    head = ("| env | family | rule parameters | lifetime | evaluations | wall | first episode | "
            "last 5 episodes | best of 5 random rules (last 5) | learning off (last 5) | "
            "plasticity off (last 5) | best constant action (last 5) | "
            "beats all (2 SE; comparisons) |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [f"| {r.env} | {r.family} | {r.parameters} | {r.lifetime} | {r.evaluations:,} | "
             f"{r.wall_s / 60:.0f} min | {r.first_episode:.1f} | {r.last5:.1f} | "
             f"{r.last5_random_best:.1f} | {_figure(r.last5_learning_off)} | "
             f"{r.last5_no_plasticity:.1f} | {_figure(r.last5_constant_best)} | "
             f"{_verdict(r)} |" for r in rows]
    return "\n".join([head, *lines])


def _verdict(row: SummaryRow) -> str:
    if row.beats_all is None:
        return "-"
    return (f"{'yes' if row.beats_all else 'no'} ({row.comparisons}; closest "
            f"{row.closest}, {row.closest_z:+.1f} SE)")


# Options of this script passed on to the node: the node's flag, and the script's own
# argparse keywords (its flag is the option's name; none given: the recipe's value).
# experiments/multi_env_training.py and transfer_matrix.py offer some of them too.
NODE_OPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "max_evals": ("--max-evals", {"type": int, "help": "episode budget instead of the recipe's"}),
    "max_time": ("--max-time", {"type": float, "help": "wall-clock budget of each run, seconds"}),
    "final_episodes": ("--final-episodes", {
        "type": int, "help": "the node's own closing held-out score (0: none; this report "
                             "does not use it)"}),
    "lifetime": ("--lifetime", {"type": int,
                                "help": "episodes per lifetime instead of the recipe's"}),
    "lifetimes": ("--episodes", {
        "type": int, "help": "lifetimes per evaluation (--episodes of the node) instead of "
                             "the recipe's"}),
    "popsize": ("--popsize", {"type": int,
                              "help": "CMA-ES population size instead of the recipe's"}),
    "hidden": ("--hidden", {
        "help": "hidden layer widths instead of the recipe's linear network (the node's "
                "--hidden: \"8\" or \"16,8\"; every layer gets its own rule parameters)"}),
    "init": ("--init", {
        "help": "a genome file (.msgpack) of the same network and family to start CMA-ES's "
                "mean at (the node's --init), instead of the family's hand-set start"}),
    "sigma": ("--sigma", {"type": float,
                          "help": "CMA-ES initial step size instead of the node's default"}),
    "train_fitness": ("--train-fitness", {
        "choices": list(TRAIN_FITNESS),
        "help": "what CMA-ES ranks a genome by across its lifetimes (the node's "
                "--train-fitness; unset: their mean)"}),
    "simulator": ("--simulator", {
        "choices": list(SIMULATORS),
        "help": "what steps the training episodes (the node's --simulator; unset: envpool "
                "where it provides every environment as gymnasium does, else gymnasium)"}),
}


def add_node_options(parser: argparse.ArgumentParser, names: Iterable[str]) -> None:
    """The script's flags for the node options `names` (keys of NODE_OPTIONS)."""
    for name in names:
        parser.add_argument("--" + name.replace("_", "-"), **NODE_OPTIONS[name][1])


def node_options(args: argparse.Namespace, names: Iterable[str]) -> list[str]:
    """The node's flags for the options `names` that were given; placed after a recipe's,
    they win (the node takes the last of a flag)."""
    extra = []
    for name in names:
        if getattr(args, name) is not None:
            extra += [NODE_OPTIONS[name][0], str(getattr(args, name))]
    return extra


def _overrides(args: argparse.Namespace) -> list[str]:
    extra = ["--rule-family", args.family, *node_options(args, NODE_OPTIONS)]
    if args.normalise_obs:
        extra += ["--normalise-obs"]
    return extra


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/meta"))
    parser.add_argument("--envs", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--family", default="threefactor",
                        choices=["threefactor", "learned", "perturbation", "recurrent",
                                 "recurrent-explore", "recurrent-explore-antithetic",
                                 "neuron-state", "contingency"])
    add_node_options(parser, NODE_OPTIONS)
    parser.add_argument("--normalise-obs", action="store_true",
                        help="standardise the network's inputs by a random policy's "
                             "statistics (evaluation.normalise_obs; the genome file records it)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=100, help="held-out lifetimes")
    parser.add_argument("--held-out-start", type=int, default=REPORT_OFFSET, metavar="N",
                        help="report on held-out seeds from 2^31 + N (default the report's "
                             "own block, 100,000; a new rule: a block never used before)")
    parser.add_argument("--resume", action="store_true",
                        help="continue runs that were stopped before their budget was spent")
    parser.add_argument("--ship", action="store_true",
                        help="copy each champion into examples/genomes/")
    args = parser.parse_args()
    rows = []
    for env_id in args.envs:
        run = args.out / env_id
        evolve(env_id, run, args.seed, args.workers, args.resume, _overrides(args))
        rows.append(summarise(env_id, run, score(run, args.episodes, args.workers,
                                                 args.held_out_start)))
        if args.ship:
            shutil.copy(run / "best.msgpack",
                        ROOT / "examples" / "genomes" / f"{env_id}.{args.family}.rules.msgpack")
    args.out.mkdir(parents=True, exist_ok=True)
    summary = args.out / "summary.json"
    if summary.exists():  # keep the environments another invocation measured
        rows += [r for r in read_summary(summary) if r.env not in args.envs]
        rows.sort(key=lambda r: list(RECIPES).index(r.env))
    summary.write_text(json.dumps(msgspec.to_builtins(rows), indent=2))
    (args.out / "summary.md").write_text(table(rows) + "\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
