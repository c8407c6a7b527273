"""Genome files on the same fresh training lifetimes: paired differences against the first.

A held-out report scores each genome beside its own baselines, so two genomes' scores are
compared with unpaired standard errors, though they played the same seeds and initial
weights. Here each genome plays the same lifetimes (seeds and so initial weights shared,
in the simulator it was trained in), and the difference of their lifetime scores is taken
lifetime by lifetime: a paired reading, much tighter. The seeds are training seeds (below
2^31) from a block no run or choice used (default 1,950,000,000; `select_champion.py` uses
1,900,000,000): a reading, not a held-out claim.

    .venv/bin/python experiments/paired_genomes.py FIRST.msgpack OTHER.msgpack... [--lifetimes 400]

Prints each genome's lifetime score (`lifetime_fitness` of its file's settings) ± SE, its
last 5 episodes, and each other genome's paired difference from the first ± SE.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from envs import Evaluator, lifetime_fitness
from island.lab.genome_file import GenomeFile

SEED_START = 1_950_000_000


def scores(path: Path, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each lifetime's score and its episode returns, for one genome file."""
    genome = GenomeFile.read(path)
    _, _, settings = genome.scored_in(simulator=genome.trained_in)
    with Evaluator(settings, 0) as evaluator:
        (returns,) = evaluator.episode_returns(genome.x[None, :], seeds)
    return lifetime_fitness(returns, settings.lifetime_fitness), returns


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("genomes", type=Path, nargs="+")
    parser.add_argument("--lifetimes", type=int, default=400)
    parser.add_argument("--lifetime", type=int, default=20)
    parser.add_argument("--seed-start", type=int, default=SEED_START)
    args = parser.parse_args()
    seeds = args.seed_start + np.arange(args.lifetimes * args.lifetime).reshape(
        args.lifetimes, args.lifetime)
    if seeds.max() >= 2**31:
        parser.error("training seeds only: below 2^31")
    first = None
    for path in args.genomes:
        score, returns = scores(path, seeds)
        stderr = score.std(ddof=1) / np.sqrt(len(score))
        last5 = returns[:, -5:].mean()
        line = f"{path.name:<60} {score.mean():7.1f} ± {stderr:.1f}  last 5 {last5:6.1f}"
        if first is None:
            first = score
        else:
            diff = score - first
            stderr = diff.std(ddof=1) / np.sqrt(len(diff))
            z = diff.mean() / stderr
            line += f"  minus the first: {diff.mean():+.1f} ± {stderr:.1f} ({z:+.1f} SE)"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
