"""How often a random linear CartPole policy solves the task: the odds of random search.

A perturb-and-keep rule tries one policy per episode; this measures what one blind try
is worth. Each policy is a 4-2 network's argmax, i.e. `w . obs > 0` with w ~ N(0, I),
scored for one episode from its own seed.

    .venv/bin/python experiments/random_linear_cartpole.py [--policies 400]
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np


def episode(env: gym.Env, w: np.ndarray, seed: int) -> float:
    obs, _ = env.reset(seed=seed)
    total = 0.0
    while True:
        obs, reward, terminated, truncated, _ = env.step(int(w @ obs > 0))
        total += float(reward)
        if terminated or truncated:
            return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policies", type=int, default=400)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    env = gym.make("CartPole-v1")
    returns = np.array([episode(env, rng.normal(size=4), i) for i in range(args.policies)])
    p = float((returns >= 475).mean())
    print(f"{args.policies} random linear policies: mean {returns.mean():.1f}, "
          f">= 475: {p:.1%}, >= 200: {(returns >= 200).mean():.1%}; one of 15 tries "
          f"solves with probability {1 - (1 - p) ** 15:.0%}")


if __name__ == "__main__":
    main()
