"""The evaluation's own cost per step, with environments that cost nothing.

Every environment of an in-process evaluation is replaced by a stand-in with the
same spaces whose `step` returns at once (a constant observation; each episode
ends after a length drawn from its seed, 20-400 steps), so what is timed is the
network, the rule and the lockstep loop alone. With one row per batch it is the
fixed cost of a step, which a batch pays for as long as its last episode runs
(one hovering lander); with 32 it is the cost per row of a full batch.

`benchmarks/overhead.py` gives the same overhead as a ratio to the simulator,
whose noise on a shared machine is larger than these costs.

    .venv/bin/python benchmarks/step_cost.py [--envs LunarLander-v3,BipedalWalker-v3]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

from envs import EvalSettings, Evaluator, env_info
from genome import GenomeSpec, initial_vector
from island.sizing import hidden_for


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
                              rounds: int, evaluations: int) -> float:
    """The best round's evaluation time per row-step."""
    info = env_info(env_id)
    spec = GenomeSpec(kind, (info.obs_dim, *hidden, info.act_dim))
    X = initial_vector(spec) + 0.5 * np.random.default_rng(0).standard_normal((rows, spec.dim))
    with Evaluator(EvalSettings(env_id, spec), workers=0) as evaluator:
        envs = evaluator._local._ensure_envs(rows)
        envs[:] = [Instant(env) for env in envs]
        evaluator.evaluate(X, [0])  # load the compiled kernels
        best = np.inf
        for r in range(rounds):
            before, start = evaluator.steps, time.perf_counter()
            for k in range(evaluations):
                evaluator.evaluate(X, [1 + r * evaluations + k])
            best = min(best, (time.perf_counter() - start) / (evaluator.steps - before))
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", default="LunarLander-v3,BipedalWalker-v3")
    parser.add_argument("--rows", default="1,32", help="batch sizes")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--evaluations", type=int, default=20, help="per round")
    args = parser.parse_args()
    print(f"us per row-step, best of {args.rounds} rounds; hidden layers as a node sizes them")
    print(f"{'environment':<18} {'kind':<14} " + " ".join(
        f"{'rows ' + r:>9}" for r in args.rows.split(",")))
    for env_id in args.envs.split(","):
        hidden = tuple(hidden_for(env_info(env_id)))  # as a node sizes it
        for kind in ("weights", "rules", "weights+rules"):
            costs = [microseconds_per_row_step(env_id, kind, hidden, int(n), args.rounds,
                                               args.evaluations)
                     for n in args.rows.split(",")]
            print(f"{env_id:<18} {kind:<14} " + " ".join(f"{c:>9.2f}" for c in costs),
                  flush=True)


if __name__ == "__main__":
    main()
