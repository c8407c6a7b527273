"""CPU seconds of two rule families on the same CartPole lifetimes, in alternating rounds.

The machine is shared and noisy, so a speed figure is a ratio measured in one process:
each round plays the same lifetimes (same seeds, same initial weights) with each family's
hand-set start in turn, timed by `time.process_time`; the ratio of the totals is the
figure. `recurrent-explore` and `neuron-state` start from the same learner and play the
same lifetimes, so what differs is only what a step costs (a cell per synapse against a
cell per neuron).

    .venv/bin/python experiments/family_cpu.py [--families A B] [--hidden 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from envs import EvalSettings, Evaluator
from genome import GenomeSpec, initial_vector

SEED_START = 5000  # training seeds, below 2^31


def rounds(families: list[str], env_id: str, hidden: int, lifetimes: int, lifetime: int,
           n_rounds: int, population: int) -> dict[str, list[float]]:
    """CPU seconds of each round, per family; the kernels compiled before the first."""
    seeds = np.arange(SEED_START, SEED_START + lifetimes * lifetime).reshape(lifetimes, lifetime)
    players = {}
    for family in families:
        spec = GenomeSpec("rules", (4, hidden, 2), family)
        evaluator = Evaluator(EvalSettings(env_id, spec, simulator="envpool"), workers=0)
        genomes = np.tile(initial_vector(spec), (population, 1))
        evaluator.episode_returns(genomes, seeds[:2])  # compile
        players[family] = (evaluator, genomes)
    times: dict[str, list[float]] = {family: [] for family in families}
    for _ in range(n_rounds):
        for family, (evaluator, genomes) in players.items():
            start = time.process_time()
            evaluator.episode_returns(genomes, seeds)
            times[family].append(time.process_time() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", nargs=2, default=["recurrent-explore", "neuron-state"])
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--lifetimes", type=int, default=64)
    parser.add_argument("--lifetime", type=int, default=20)
    parser.add_argument("--population", type=int, default=4, help="genomes played at once")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times = rounds(args.families, "CartPole-v1", args.hidden, args.lifetimes, args.lifetime,
                   args.rounds, args.population)
    for family, seconds in times.items():
        print(f"{family:28s} CPU s per round: {' '.join(f'{s:.2f}' for s in seconds)}")
    first, second = args.families
    print(f"{first} / {second}: {sum(times[first]) / sum(times[second]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
