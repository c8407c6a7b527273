"""Overhead of the plastic network over the simulator: full evaluation vs raw `env.step`.

For each environment and genome kind, in the same run and process: steps per
second of the raw environment (random actions, the same gym.make wrappers) and
of a full in-process evaluation of a population (network, rule update every
step, bookkeeping). The ratio is the figure.

    .venv/bin/python benchmarks/overhead.py [--popsize 32] [--steps 20000]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

from envs import EvalSettings, Evaluator, env_info
from genome import GenomeSpec, initial_vector


def raw_steps_per_second(env_id: str, steps: int) -> float:
    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(1000)]
    start = time.perf_counter()
    for t in range(steps):
        _, _, terminated, truncated, _ = env.step(actions[t % 1000])
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def evaluation_steps_per_second(env_id: str, kind: str, popsize: int, steps: int) -> float:
    info = env_info(env_id)
    spec = GenomeSpec(kind, (info.obs_dim, 16, 16, info.act_dim))
    rng = np.random.default_rng(0)
    X = initial_vector(spec) + 0.5 * rng.standard_normal((popsize, spec.dim))
    with Evaluator(EvalSettings(env_id, spec), workers=0) as evaluator:
        evaluator.evaluate(X[:2], [0])  # warm up
        evaluator.steps = 0
        start = time.perf_counter()
        seed = 1
        while evaluator.steps < steps:
            evaluator.evaluate(X, [seed])
            seed += 1
        return evaluator.steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--popsize", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--envs", default="CartPole-v1,LunarLander-v3,BipedalWalker-v3")
    args = parser.parse_args()
    print(f"{'environment':<18} {'kind':<14} {'raw steps/s':>12} {'eval steps/s':>13} {'ratio':>6}")
    for env_id in args.envs.split(","):
        for kind in ("weights", "rules", "weights+rules"):
            raw = raw_steps_per_second(env_id, args.steps)
            full = evaluation_steps_per_second(env_id, kind, args.popsize, args.steps)
            print(f"{env_id:<18} {kind:<14} {raw:>12,.0f} {full:>13,.0f} {full / raw:>6.2f}")


if __name__ == "__main__":
    main()
