"""The evaluation's own cost per step, with environments that cost nothing.

Every environment of an in-process evaluation is replaced by a stand-in with the
same spaces whose `step` returns at once (a constant observation; each episode
ends after a length drawn from its seed, 20-400 steps), so what is timed is the
network, the rule and the lockstep loop alone. With one row per batch it is the
fixed cost of a step, which a batch pays for as long as its last episode runs
(one hovering lander); with 32 or 256 it is the cost per row of a full batch (a worker
steps a whole generation's rows through one envpool pool, so 256 is the case envpool makes).

`benchmarks/overhead.py` gives the same overhead as a ratio to the simulator,
whose noise on a shared machine is larger than these costs.

    .venv/bin/python benchmarks/step_cost.py [--envs LunarLander-v3,BipedalWalker-v3]
        [--rows 1,32,256] [--families hebbian,oja,threefactor,learned,...]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

from envs import EvalSettings, Evaluator, env_info
from envs.simulators import GymnasiumBatch
from genome import GenomeSpec, initial_vector
from genome.rules import FAMILIES
from island.sizing import hidden_for


class InstantBatch:
    """A batch simulator whose steps cost nothing: arrays in, arrays out, as envpool's are."""

    def __init__(self, info):
        self.info = info

    def reset(self, seeds: np.ndarray) -> np.ndarray:
        self.t = np.zeros(len(seeds), dtype=np.int64)
        self.end = np.array([np.random.default_rng(int(s)).integers(20, 400) for s in seeds])
        return np.zeros((len(seeds), self.info.obs_dim))

    def step(self, actions: np.ndarray, slots: np.ndarray):
        slots = np.asarray(slots, dtype=np.intp)  # int32 as envpool takes them: index once
        self.t[slots] += 1
        n = len(slots)
        return (np.zeros((n, self.info.obs_dim)), np.full(n, 0.5), self.t[slots] >= self.end[slots],
                np.zeros(n, dtype=bool))

    def close(self) -> None:
        pass


class Instant(gym.Wrapper):
    """An environment whose steps cost nothing: same spaces, a constant observation."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation = np.zeros(env.observation_space.shape, dtype=np.float32)
        self.t = self.end = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self.t, self.end = 0, int(np.random.default_rng(seed).integers(20, 400))
        return self.observation, {}

    def step(self, action):
        self.t += 1
        return self.observation, 0.5, self.t >= self.end, False, {}


def microseconds_per_row_step(env_id: str, kind: str, hidden: tuple[int, ...], rows: int,
                              rounds: int, evaluations: int, family: str = "hebbian",
                              batched: bool = True) -> float:
    """The best round's evaluation time per row-step; `batched`: a batch simulator (as
    envpool), else gymnasium environments stepped one by one (Python's cost per row)."""
    info = env_info(env_id)
    spec = GenomeSpec(kind, (info.obs_dim, *hidden, info.act_dim), family)
    X = initial_vector(spec) + 0.5 * np.random.default_rng(0).standard_normal((rows, spec.dim))
    with Evaluator(EvalSettings(env_id, spec, simulator="gymnasium"), workers=0) as evaluator:
        evaluator._local.sim = InstantBatch(env_info(env_id)) if batched else GymnasiumBatch(
            env_id, [Instant(gym.make(env_id)) for _ in range(rows)])
        evaluator.evaluate(X, [0])  # load the compiled kernels
        best = np.inf
        for r in range(rounds):
            before, start = evaluator.steps, time.process_time()
            for k in range(evaluations):
                evaluator.evaluate(X, [1 + r * evaluations + k])
            best = min(best, (time.process_time() - start) / (evaluator.steps - before))
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", default="LunarLander-v3,BipedalWalker-v3")
    parser.add_argument("--rows", default="1,32,256", help="batch sizes")
    parser.add_argument("--families", default="hebbian",
                        help="rule families of the rules genomes (comma-separated; 'all': every "
                        "family)")
    parser.add_argument("--gymnasium", action="store_true",
                        help="stand-in gymnasium environments stepped one by one (each row pays "
                        "Python's call), instead of a batch stepped in one call as envpool's")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--evaluations", type=int, default=20, help="per round")
    args = parser.parse_args()
    print(f"us per row-step, best of {args.rounds} rounds; hidden layers as a node sizes them")
    print(f"{'environment':<18} {'kind and family':<30} " + " ".join(
        f"{'rows ' + r:>9}" for r in args.rows.split(",")))
    families = list(FAMILIES) if args.families == "all" else args.families.split(",")
    for env_id in args.envs.split(","):
        hidden = tuple(hidden_for(env_info(env_id)))  # as a node sizes it
        runs = [("weights", "hebbian")] + [(kind, family) for family in families
                                           for kind in ("rules", "weights+rules")]
        for kind, family in runs:
            costs = [microseconds_per_row_step(env_id, kind, hidden, int(n), args.rounds,
                                               args.evaluations, family, not args.gymnasium)
                     for n in args.rows.split(",")]
            label = kind if kind == "weights" else f"{kind} {family}"
            print(f"{env_id:<18} {label:<30} " + " ".join(f"{c:>9.2f}" for c in costs),
                  flush=True)


if __name__ == "__main__":
    main()
