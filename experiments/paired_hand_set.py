"""Does pairing help the hand-set start? `recurrent-explore` and `recurrent-explore-antithetic`
(the same parameters, the same start) on the same training lifetimes, no evolution.

    .venv/bin/python experiments/paired_hand_set.py [--lifetimes 256] [--hidden 16]

Prints each family's first episode, last 5 of 20 (± SE) and curve, and the paired
difference of the last 5 (antithetic minus not, ± SE over lifetimes). Training seeds
(from 600,000, below 2^31): this measured the evidence before run E was pre-registered.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from envs import EvalSettings, Evaluator
from genome import GenomeSpec, initial_vector

FAMILIES = ("recurrent-explore", "recurrent-explore-antithetic")
SEED_START = 600_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lifetimes", type=int, default=256)
    parser.add_argument("--hidden", default="", help="hidden layer widths, as the node's --hidden")
    parser.add_argument("--lifetime", type=int, default=20)
    args = parser.parse_args()
    hidden = [int(w) for w in args.hidden.split(",") if w]
    seeds = np.arange(SEED_START, SEED_START + args.lifetimes * args.lifetime).reshape(
        args.lifetimes, args.lifetime)
    last5 = {}
    for family in FAMILIES:
        spec = GenomeSpec("rules", (4, *hidden, 2), family)
        with Evaluator(EvalSettings("CartPole-v1", spec), workers=0) as evaluator:
            (returns,) = evaluator.episode_returns(initial_vector(spec)[None, :], seeds)
        last5[family] = returns[:, -5:].mean(axis=1)
        print(f"{family:<30} first {returns[:, 0].mean():.1f}  last 5 {last5[family].mean():.1f}"
              f" ± {last5[family].std() / np.sqrt(args.lifetimes):.1f}  curve "
              + " ".join(f"{r:.0f}" for r in returns.mean(axis=0)))
    diff = last5[FAMILIES[1]] - last5[FAMILIES[0]]
    stderr = diff.std() / np.sqrt(args.lifetimes)
    print(f"paired minus not, last 5: {diff.mean():+.1f} ± {stderr:.1f} "
          f"({args.lifetimes} lifetimes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
