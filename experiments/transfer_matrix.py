"""Founding question 2: do rules transfer from a training set of environments to others?

The rule evolved on several environments (experiments/multi_env_training.py) is
scored by `island-transfer` in every training environment and in environments none
was trained on; the rules evolved on one each (issue 11,
`examples/genomes/<env>.<family>.rules.msgpack`, where one ships) in the latter. Each
cell is scored against 5 random rules and the same rule with plasticity off, on the
same 100 held-out lifetimes (seeds from 2^31 + `--held-out-start`, REPORT_OFFSET
unless told: a block used for nothing else, so no choice was made on it), every
genome with lifetimes of LIFETIME episodes (`--held-out-lifetime`). The node options of
a rule with memory (`--hidden`, `--lifetime`, `--popsize`, `--max-time`,
`--final-episodes`, `--simulator`) are passed on to the training node.

    .venv/bin/python experiments/transfer_matrix.py --out runs/universal
        [--family learned --training ENV ... --outside ENV ... --held-out-start N]
        [--envs-fitness min] [--no-singles]
        [--hidden WIDTHS --lifetime K --popsize P --max-time SECONDS --final-episodes N]
        [--simulator envpool] [--held-out-lifetime K]

Writes DIR/matrix/transfer.{md,json,png,html} and curves.png (the multi-environment
rule: heatmap of margins over the best baseline, within-lifetime curves) and
DIR/singles/ (the one-environment rules outside their environments). Cached: a
re-run reads them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from cached import BIN, ROOT
from multi_env_training import add_training_flags, evolve

from island.lab.transfer import TransferCell, read_cells

OUTSIDE = ["MountainCarContinuous-v0", "Pendulum-v1", "LunarLanderContinuous-v3"]
REPORT_OFFSET = 400_000
LIFETIME = 10


def single_env_genomes(training: list[str], family: str) -> list[Path]:
    """The shipped one-environment rules of the training environments (where one exists)."""
    paths = [ROOT / "examples" / "genomes" / f"{env}.{family}.rules.msgpack"
             for env in training]
    return [p for p in paths if p.exists()]


def transfer(args: argparse.Namespace, genomes: list[Path], envs: list[str],
             name: str) -> list[TransferCell]:
    """`island-transfer` of genomes x envs into DIR/<name>/ (cached there)."""
    out = args.out / name
    if not (out / "transfer.json").exists():
        subprocess.run([str(BIN / "island-transfer"), *map(str, genomes), "--envs", *envs,
                        "--episodes", str(args.episodes), "--compare", "5",
                        "--lifetime", str(args.held_out_lifetime),
                        "--held-out-start", str(args.held_out_start),
                        "--workers", str(args.workers), "--out", str(out)], check=True)
    return read_cells(out / "transfer.json")


def matrix(args: argparse.Namespace) -> list[TransferCell]:
    """The multi-environment rule in every environment (DIR/matrix), then the
    one-environment rules in the environments outside the training set (DIR/singles):
    their own environments were scored in issue 11."""
    multi = evolve(args)
    cells = transfer(args, [multi], [*args.training, *args.outside], "matrix")
    singles = [] if args.no_singles else single_env_genomes(args.training, args.family)
    return cells + (transfer(args, singles, args.outside, "singles") if singles else [])


def add_matrix_flags(parser: argparse.ArgumentParser) -> None:
    add_training_flags(parser)
    parser.add_argument("--outside", nargs="+", default=OUTSIDE, metavar="ENV",
                        help="environments no genome was trained on")
    parser.add_argument("--episodes", type=int, default=100, help="held-out lifetimes per cell")
    parser.add_argument("--held-out-lifetime", type=int, default=LIFETIME, metavar="K",
                        help="episodes per held-out lifetime (the training run's are "
                             "--lifetime's)")
    parser.add_argument("--held-out-start", type=int, default=REPORT_OFFSET, metavar="N",
                        help="held-out seeds from 2^31 + N (a block no choice was made on)")
    parser.add_argument("--no-singles", action="store_true",
                        help="score only the multi-environment rule (not the shipped "
                             "one-environment rules outside their environments)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_matrix_flags(parser)
    args = parser.parse_args()
    cells = matrix(args)
    genome = cells[0].genome
    print((args.out / "matrix" / "transfer.md").read_text())
    outside = [c for c in cells if c.genome == genome and c.held_out_env]
    wins = [c.env for c in outside if c.beats_baselines]
    print(f"{genome} beats both baselines by > 2 SE in {len(wins)} of {len(outside)} "
          f"environments outside its training set: {', '.join(wins) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
