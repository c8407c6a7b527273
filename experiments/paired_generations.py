"""Two runs of the same node seed, generation by generation: which population scores higher?

A node draws each generation's training seeds from its own seed, so two runs with the same
`--seed`, lifetimes and population size score generation g on the same lifetimes. The
mean over generations of the difference of their population means (first minus second),
± its standard error over generations, is a paired reading on training seeds; not a
held-out claim, and generations are not independent draws of one quantity (the
populations move), so it is a reading, not a test.

    .venv/bin/python experiments/paired_generations.py RUN_A RUN_B [--first 1] [--last 20]

RUN_A, RUN_B: run directories (holding `log.jsonl`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from island.record import read_generations


def population_means(run: Path) -> dict[int, float]:
    """Each generation's mean training fitness of the population, by generation."""
    return {g.generation: g.mean for g in read_generations(run / "log.jsonl")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--last", type=int, default=20)
    args = parser.parse_args()
    a, b = population_means(args.run_a), population_means(args.run_b)
    gens = [g for g in range(args.first, args.last + 1) if g in a and g in b]
    if len(gens) < 2:
        print(f"paired_generations: fewer than 2 generations in both runs in "
              f"{args.first}..{args.last}", file=sys.stderr)
        return 2
    d = np.array([a[g] - b[g] for g in gens])
    print(f"generations {gens[0]}-{gens[-1]} ({len(gens)}): A {np.mean([a[g] for g in gens]):.1f}, "
          f"B {np.mean([b[g] for g in gens]):.1f}, A - B {d.mean():+.1f} ± "
          f"{d.std(ddof=1) / np.sqrt(len(d)):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
