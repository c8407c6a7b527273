"""Speed-up of the worker pool: episode evaluations per second with 1 worker and with all.

Both pools live through the whole run and are measured in alternating rounds,
each keeping its best round, so load from other processes on a shared machine
does not tilt the ratio. The population is scored as a node scores it. As a
reference for what the machine itself allows, the same is measured for raw
`env.step` with random actions: the same work split over 1 and over all processes.

    .venv/bin/python benchmarks/cores.py [--env LunarLander-v3] [--popsize 32] [--rounds 5]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import numpy as np

from envs import EvalSettings, Evaluator, default_workers, env_info
from genome import GenomeSpec, initial_vector


def episodes_per_second(evaluator: Evaluator, X: np.ndarray, first_seed: int, gens: int,
                        episodes: int) -> float:
    """Episode evaluations per second over `gens` generations of fresh seeds."""
    start = time.perf_counter()
    for gen in range(gens):
        seed = first_seed + gen * episodes
        evaluator.evaluate(X, np.arange(seed, seed + episodes))
    return gens * len(X) * episodes / (time.perf_counter() - start)


def raw_steps(job: tuple[str, int, int]) -> int:
    """`steps` random-action steps of a fresh environment (a pool task)."""
    import gymnasium as gym

    env_id, steps, seed = job
    env = gym.make(env_id)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    env.close()
    return steps


def raw_steps_per_second(pool, env_id: str, jobs: int, steps: int) -> float:
    start = time.perf_counter()
    done = sum(pool.map(raw_steps, [(env_id, steps, seed) for seed in range(jobs)],
                        chunksize=1))
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="LunarLander-v3")
    parser.add_argument("--kind", default="weights+rules")
    parser.add_argument("--hidden", default="16,16")
    parser.add_argument("--popsize", type=int, default=32)
    parser.add_argument("--episodes", type=int, default=3, help="episodes per evaluation")
    parser.add_argument("--generations", type=int, default=3, help="per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--raw-steps", type=int, default=20000, help="per raw task")
    args = parser.parse_args()
    info = env_info(args.env)
    hidden = tuple(int(h) for h in args.hidden.split(",") if h)
    spec = GenomeSpec(args.kind, (info.obs_dim, *hidden, info.act_dim))
    X = initial_vector(spec) + 0.5 * np.random.default_rng(0).standard_normal(
        (args.popsize, spec.dim))
    settings = EvalSettings(args.env, spec)
    cores = default_workers()
    best = {1: 0.0, cores: 0.0}
    with Evaluator(settings, workers=1) as one, Evaluator(settings, workers=cores) as every:
        pools = {1: one, cores: every}
        for pool in pools.values():
            pool.evaluate(X, np.arange(args.episodes))  # start workers, build environments
        seed = args.episodes
        for _ in range(args.rounds):
            for workers, pool in pools.items():  # the same episodes for both pools
                rate = episodes_per_second(pool, X, seed, args.generations, args.episodes)
                best[workers] = max(best[workers], rate)
            seed += args.generations * args.episodes
    raw = {1: 0.0, cores: 0.0}
    ctx = mp.get_context("forkserver")
    with ctx.Pool(1) as one, ctx.Pool(cores) as every:
        for _ in range(args.rounds):
            for workers, pool in ((1, one), (cores, every)):
                rate = raw_steps_per_second(pool, args.env, 2 * cores, args.raw_steps)
                raw[workers] = max(raw[workers], rate)
    print(f"{args.env} {args.kind}, population {args.popsize} x {args.episodes} episodes, "
          f"best of {args.rounds} alternating rounds")
    print(f"{'processes':>9} {'evaluation episodes/s':>22} {'raw env steps/s':>16}")
    for workers in best:
        print(f"{workers:>9} {best[workers]:>22.1f} {raw[workers]:>16,.0f}")
    speedup, raw_speedup = best[cores] / best[1], raw[cores] / raw[1]
    print(f"evaluation speed-up {speedup:.2f} on {cores} cores = {speedup / cores:.2f} x cores")
    print(f"raw env.step speed-up {raw_speedup:.2f} = {raw_speedup / cores:.2f} x cores "
          "(what this machine allows)")


if __name__ == "__main__":
    main()
