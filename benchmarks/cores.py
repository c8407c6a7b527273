"""Speed-up of the worker pool: episode evaluations per second with 1 worker and with all.

Both pools live through the whole run and are measured in alternating rounds,
each keeping its best round, so load from other processes on a shared machine
does not tilt the ratio. The population is scored as a node scores it. As a
reference for what the machine itself allows, the same is measured for raw
`env.step` with random actions: the same work split over 1 and over all processes.

`--genome FILE` scores that saved genome (its settings, `popsize` copies) instead of
random ones, so episodes last as long as a trained policy's. `--popsize 1 --episodes 50`
is the shape of a champion's confirmation, `--popsize 3 --episodes 10` of a champion
round; `--compare-split` adds a third pool, all cores with each genome's lifetimes kept
in one job (envs/evaluator.py, `split_work`), to measure what sharing them out buys.
`--compare-threads` adds a pool of one process whose envpool pool steps on a thread per
core (Box2D and MuJoCo: envs/simulators.py, `stepping_threads`; the evaluator's `threaded`),
in place of a process per core. Every pool also gives its workers' CPU
seconds per environment step (median of its rounds), the cost the node's `cpu` log counts.

    .venv/bin/python benchmarks/cores.py [--env LunarLander-v3] [--popsize 32] [--rounds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np

from envs import EvalSettings, Evaluator, default_workers, env_info
from genome import GenomeSpec, initial_vector
from island.lab.genome_file import GenomeFile

THREADS = 1000  # the label of the pool of one process stepping on a thread per core


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
    parser.add_argument("--genome", type=Path, default=None,
                        help="score copies of this saved genome (its own settings)")
    parser.add_argument("--compare-split", action="store_true",
                        help="also all cores with lifetimes not shared out")
    parser.add_argument("--compare-threads", action="store_true",
                        help="also all cores as one process whose envpool pool steps on a "
                             "thread per core (Box2D, MuJoCo)")
    args = parser.parse_args()
    if args.genome is not None:
        _, x, settings = GenomeFile.read(args.genome).scored_in()
        X, args.env, args.kind = np.tile(x, (args.popsize, 1)), settings.env_id, args.genome.name
    else:
        info = env_info(args.env)
        hidden = tuple(int(h) for h in args.hidden.split(",") if h)
        spec = GenomeSpec(args.kind, (info.obs_dim, *hidden, info.act_dim))
        X = initial_vector(spec) + 0.5 * np.random.default_rng(0).standard_normal(
            (args.popsize, spec.dim))
        settings = EvalSettings(args.env, spec)
    cores = default_workers()
    labels = {1: "1", cores: str(cores)}
    if args.compare_split:
        labels[-cores] = f"{cores} (lifetimes in one job)"
    if args.compare_threads:
        labels[THREADS] = f"{cores} (threads)"
    best = dict.fromkeys(labels, 0.0)
    cpu_per_step = {n: [] for n in labels}
    with contextlib.ExitStack() as stack:
        pools = {n: stack.enter_context(Evaluator(
            settings, workers=cores if n == THREADS else abs(n), split_lifetimes=n > 0,
            threaded=n == THREADS)) for n in labels}
        for pool in pools.values():
            pool.evaluate(X, np.arange(args.episodes))  # start workers, build environments
        seed = args.episodes
        for _ in range(args.rounds):
            for workers, pool in pools.items():  # the same episodes for both pools
                cpu, steps = pool.worker_cpu, pool.steps
                rate = episodes_per_second(pool, X, seed, args.generations, args.episodes)
                best[workers] = max(best[workers], rate)
                cpu_per_step[workers].append((pool.worker_cpu - cpu) / (pool.steps - steps))
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
    print(f"{'cores':>14} {'evaluation episodes/s':>22} {'worker CPU us/step':>19} "
          f"{'raw env steps/s':>16}")
    for workers in best:
        raw_rate = f"{raw[abs(workers)]:>16,.0f}" if 0 < workers < THREADS else ""
        print(f"{labels[workers]:>14} {best[workers]:>22.1f} "
              f"{1e6 * np.median(cpu_per_step[workers]):>19.2f} {raw_rate}")
    speedup, raw_speedup = best[cores] / best[1], raw[cores] / raw[1]
    print(f"evaluation speed-up {speedup:.2f} on {cores} cores = {speedup / cores:.2f} x cores")
    if args.compare_split:
        kept = best[-cores] / best[1]
        print(f"  with each genome's lifetimes in one job: {kept:.2f} = {kept / cores:.2f} x cores")
    if args.compare_threads:
        threaded = best[THREADS] / best[1]
        print(f"  one process stepping on {cores} threads: {threaded:.2f} = "
              f"{threaded / cores:.2f} x cores")
    print(f"raw env.step speed-up {raw_speedup:.2f} = {raw_speedup / cores:.2f} x cores "
          "(what this machine allows)")


if __name__ == "__main__":
    main()
