"""A rule evolved on several environments at once (`island-node --envs`), the start of
founding questions 2 and 4 (experiments/transfer_matrix.py, experiments/universal_rules.py).

One `island-node` evolves a `rules` genome of one rule family (`--family`,
`threefactor` unless told; a linear network, random initial weights every lifetime)
whose fitness is the mean (or, `--envs-fitness min`, the minimum) over the training
environments of returns normalised to random policy = 0, solved = 1 (envs/multi.py).
Training draws seeds below 2^31 only.

    .venv/bin/python experiments/multi_env_training.py --out runs/universal [--ship]
        [--family learned] [--training ENV ...] [--lifetimes-per-eval N]
        [--envs-fitness min] [--normalise-obs]
        [--hidden WIDTHS] [--lifetime K] [--popsize P] [--max-time SECONDS] [--final-episodes N]
        [--simulator envpool]

`--ship` copies the champion to
`examples/genomes/<env>+<env>+....<family>.rules.msgpack`; the file records its
training environments (`envs`), so `island-transfer` marks the others held out.
A run stopped early (a signal) is reported as it stands; a finished one is read.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from cached import BIN, ROOT, started
from meta_learning import add_node_options, node_options

TRAINING = ["CartPole-v1", "Acrobot-v1", "LunarLander-v3"]
FAMILY = "threefactor"
# What the node is given (besides --envs, --rule-family, --episodes, --seed, --workers,
# --run-dir).
RECIPE = ["--kind", "rules", "--hidden", "", "--lifetime", "10", "--popsize", "16",
          "--target", "none",  # the whole budget, as measured
          "--lifetime-fitness", "last_half", "--quiet"]
# Options passed on to the node after RECIPE, so they win (experiments/meta_learning.py's):
# what a rule with memory needs (hidden layers, longer lifetimes, a larger population, a
# wall-clock budget, no closing score of the node's own) and the simulator (Pendulum-v1 keeps
# a training set in gymnasium unless envpool is asked for: envs/simulators.py, DIFFERS).
PASSED_ON = ["hidden", "lifetime", "popsize", "max_time", "final_episodes", "simulator"]


def training_run(out: Path, envs: list[str]) -> Path:
    return out / "+".join(envs)


def evolve(args: argparse.Namespace) -> Path:
    """The champion of the training run (evolved now unless the run exists), copied to
    DIR/<shipped name> so that tables name it by its training set and family."""
    run = training_run(args.out, args.training)
    if not started(run):
        subprocess.run([str(BIN / "island-node"), "--envs", ",".join(args.training), *RECIPE,
                        "--rule-family", args.family, "--episodes", str(args.lifetimes_per_eval),
                        "--envs-fitness", args.envs_fitness,
                        "--max-evals", str(args.max_evals), "--seed", str(args.seed),
                        "--workers", str(args.workers), "--run-dir", str(run),
                        *(["--sigma", str(args.sigma)] if args.sigma else []),
                        *(["--normalise-obs"] if args.normalise_obs else []),
                        *node_options(args, PASSED_ON)], check=True)
    named = args.out / shipped_name(args.training, args.family)
    shutil.copy(run / "best.msgpack", named)
    return named


def shipped_name(envs: list[str], family: str = FAMILY) -> str:
    return f"{'+'.join(envs)}.{family}.rules.msgpack"


def add_training_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs/universal"))
    parser.add_argument("--training", nargs="+", default=TRAINING, metavar="ENV")
    parser.add_argument("--family", default=FAMILY, help="rule family of the evolved genome")
    parser.add_argument("--lifetimes-per-eval", type=int, default=2,
                        help="lifetimes per training environment in one evaluation")
    parser.add_argument("--envs-fitness", default="mean", choices=["mean", "min"],
                        help="how the training environments' normalised scores combine")
    parser.add_argument("--max-evals", type=int, default=150_000,
                        help="episode evaluations of the training run (all environments)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sigma", type=float, default=None,
                        help="CMA-ES initial step size (default: the node's own, island/sizing.py)")
    add_node_options(parser, PASSED_ON)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--normalise-obs", action="store_true",
                        help="standardise every environment's inputs by a random policy's "
                             "statistics (evaluation.normalise_obs)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_training_flags(parser)
    parser.add_argument("--ship", action="store_true", help="copy the champion to examples/")
    args = parser.parse_args()
    best = evolve(args)
    if args.ship:
        target = ROOT / "examples" / "genomes" / best.name
        shutil.copy(best, target)
        print(f"shipped {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
