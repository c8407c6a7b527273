"""What a discrete-action rule has learned to do: the share of each action, episode by episode.

A LunarLander rule that ends near the return of doing nothing (-132) may have learned to
fire no engine, or something else that scores the same; its return cannot tell the two
apart, its actions can. This plays a genome's held-out lifetimes (gymnasium, the seeds and
initial weights `island-eval --held-out-start N` scores) and counts the actions taken, the
steps, and how episodes end (LunarLander's last reward: -100 a crash, +100 at rest).

    .venv/bin/python experiments/action_share.py GENOME [--held-out-start N] [--lifetimes L]

Prints one line per episode of the lifetime: mean return, mean steps, share of each action,
and the share of episodes that ended in a crash or at rest.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

from envs.episodes import run_lifetimes
from envs.evaluator import input_scale
from envs.held_out import held_out_seeds
from envs.network import PlasticNetwork
from envs.spaces import describe
from island.lab.genome_file import GenomeFile


class ActionCount(gym.Wrapper):
    """Counts the actions of every episode and keeps each episode's last reward."""

    def __init__(self, env: gym.Env, n_actions: int):
        super().__init__(env)
        self.counts: list[np.ndarray] = []
        self.last_reward: list[float] = []
        self.n_actions = n_actions

    def reset(self, **kwargs):  # noqa: ANN003, ANN201 - gymnasium's signature
        self.counts.append(np.zeros(self.n_actions, dtype=np.int64))
        self.last_reward.append(0.0)
        return self.env.reset(**kwargs)

    def step(self, action):  # noqa: ANN001, ANN201 - gymnasium's signature
        self.counts[-1][int(action)] += 1
        out = self.env.step(action)
        self.last_reward[-1] = float(out[1])
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("genome", type=Path)
    parser.add_argument("--held-out-start", type=int, default=0, metavar="N")
    parser.add_argument("--lifetimes", type=int, default=100)
    args = parser.parse_args()
    saved = GenomeFile.read(args.genome)
    spec, x, settings = saved.scored_in()
    seeds = held_out_seeds(args.lifetimes, saved.lifetime, args.held_out_start)
    probe = gym.make(settings.env_id)
    if not isinstance(probe.action_space, gym.spaces.Discrete):
        print(f"action_share: {settings.env_id} has no discrete actions", file=sys.stderr)
        return 2
    n = int(probe.action_space.n)
    envs = [ActionCount(gym.make(settings.env_id), n) for _ in range(args.lifetimes)]
    network = PlasticNetwork(spec, describe(probe), np.tile(x, (args.lifetimes, 1)),
                             settings.w_max, input_scale(settings))
    returns, _ = run_lifetimes(envs, network, seeds, settings.max_steps)
    counts = np.array([env.counts for env in envs])  # (lifetimes, episodes, actions)
    last = np.array([env.last_reward for env in envs])  # (lifetimes, episodes)
    steps = counts.sum(axis=2)
    share = counts.sum(axis=0) / steps.sum(axis=0)[:, None]
    print(f"{args.genome}: {args.lifetimes} lifetimes of {saved.lifetime} episodes from 2^31 + "
          f"{args.held_out_start:,}; mean return {returns.mean():.1f}, last 5 "
          f"{returns[:, -5:].mean():.1f}")
    print("episode  return  steps  " + "  ".join(f"a{k}" for k in range(n))
          + "  crash  at-rest")
    for e in range(returns.shape[1]):
        print(f"{e + 1:>7} {returns[:, e].mean():7.1f} {steps[:, e].mean():6.0f}  "
              + "  ".join(f"{s:.2f}" for s in share[e])
              + f"  {np.mean(last[:, e] <= -100):.2f}  {np.mean(last[:, e] >= 100):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
