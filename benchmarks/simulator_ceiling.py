"""The most envpool can buy over gymnasium: CPU per environment step of each, random actions.

No network, no episode loop: gymnasium's own class stepped one environment at a time (reset
when an episode ends), against envpool stepped as a worker steps it (`EnvpoolBatch.step`,
every row of a batch in one call; envpool resets an ended environment by itself). A node's
steps per CPU second pay the network and the loop on top of either, so the ratio here is
the ceiling of `benchmarks/simulator_speed.py`'s ratio at that batch size. Rounds
alternate which simulator runs first; CPU seconds of the whole process (envpool steps on
its own thread).

    .venv/bin/python benchmarks/simulator_ceiling.py [--envs CartPole-v1,Acrobot-v1,...]
        [--rows 24,256] [--rounds 3] [--steps 20000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np

from envs.simulators import EnvpoolBatch

ENVS = "CartPole-v1,Acrobot-v1,LunarLander-v3,BipedalWalker-v3"


def actions_for(env_id: str, n: int, seed: int = 0) -> list:
    space = gym.make(env_id).action_space
    space.seed(seed)
    return [space.sample() for _ in range(n)]


def gymnasium_us_per_step(env_id: str, steps: int) -> float:
    env = gym.make(env_id)
    env.reset(seed=0)
    actions = actions_for(env_id, 1000)
    start = time.process_time()
    for k in range(steps):
        _, _, terminated, truncated, _ = env.step(actions[k % 1000])
        if terminated or truncated:
            env.reset()
    cpu = time.process_time() - start
    env.close()
    return cpu / steps * 1e6


def envpool_us_per_step(env_id: str, rows: int, steps: int) -> float:
    batch = EnvpoolBatch(env_id)
    batch.reset(np.arange(rows))
    slots = np.arange(rows)
    actions = np.array(actions_for(env_id, rows))
    calls = max(1, steps // rows)
    start = time.process_time()
    for _ in range(calls):
        batch.step(actions, slots)
    cpu = time.process_time() - start
    batch.close()
    return cpu / (calls * rows) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", default=ENVS)
    parser.add_argument("--rows", default="24,256", help="envpool batch sizes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20000, help="environment steps per figure")
    args = parser.parse_args()
    rows = [int(n) for n in args.rows.split(",")]
    print("| environment | gymnasium us/step | " + " | ".join(
        f"envpool us/step, {n} rows | ceiling at {n}" for n in rows) + " |")
    print("|---|---|" + "---|---|" * len(rows))
    for env_id in args.envs.split(","):
        gym_us, pool_us = [], {n: [] for n in rows}
        for r in range(args.rounds):
            order = ("gymnasium", "envpool") if r % 2 == 0 else ("envpool", "gymnasium")
            for simulator in order:
                if simulator == "gymnasium":
                    gym_us.append(gymnasium_us_per_step(env_id, args.steps))
                else:
                    for n in rows:
                        pool_us[n].append(envpool_us_per_step(env_id, n, args.steps))
        g = statistics.median(gym_us)
        cells = [f"{statistics.median(pool_us[n]):.2f} | {g / statistics.median(pool_us[n]):.1f}x"
                 for n in rows]
        print(f"| {env_id} | {g:.2f} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
