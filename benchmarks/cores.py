"""Speed-up of the worker pool: evaluations per second with 1 worker and with all, same run.

    .venv/bin/python benchmarks/cores.py [--env LunarLander-v3] [--popsize 32] [--generations 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from envs import EvalSettings, Evaluator, default_workers, env_info
from genome import GenomeSpec, initial_vector


def episodes_per_second(settings: EvalSettings, X: np.ndarray, workers: int, gens: int) -> float:
    with Evaluator(settings, workers=workers) as evaluator:
        evaluator.evaluate(X, [0])  # start the workers and their environments
        start = time.perf_counter()
        for seed in range(1, gens + 1):
            evaluator.evaluate(X, [seed])
        return gens * len(X) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="LunarLander-v3")
    parser.add_argument("--kind", default="weights+rules")
    parser.add_argument("--popsize", type=int, default=32)
    parser.add_argument("--generations", type=int, default=5)
    args = parser.parse_args()
    info = env_info(args.env)
    spec = GenomeSpec(args.kind, (info.obs_dim, 16, 16, info.act_dim))
    X = initial_vector(spec) + 0.5 * np.random.default_rng(0).standard_normal(
        (args.popsize, spec.dim))
    settings = EvalSettings(args.env, spec)
    cores = default_workers()
    one = episodes_per_second(settings, X, 1, args.generations)
    every = episodes_per_second(settings, X, cores, args.generations)
    print(f"{'env':<18} {'workers':>7} {'episodes/s':>11}")
    print(f"{args.env:<18} {1:>7} {one:>11.1f}")
    print(f"{args.env:<18} {cores:>7} {every:>11.1f}")
    print(f"speed-up {every / one:.2f} on {cores} cores = {every / one / cores:.2f} x cores")


if __name__ == "__main__":
    main()
