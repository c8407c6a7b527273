"""Overhead of the plastic network over the simulator: full evaluation vs raw `env.step`.

For each environment and genome kind, in the same run and process: steps per
second of the raw environment (random actions, the same gym.make wrappers) and
of a full in-process evaluation of a population as a node runs it (network,
rule update every step, episodes of a batch in lockstep, bookkeeping). The two
are measured in alternating rounds and each keeps its best round, so load from
other processes on a shared machine does not tilt the ratio; the ratio is the
figure.

Random actions are not the policy's: in BipedalWalker-v3 a policy's torques cost
the simulator more per step than random ones, so part of that ratio's gap is
the simulator's. Two columns separate it. "replay" is raw `env.step` on exactly
the policy's actions: each round of the full evaluation records every episode's
reset seed and actions, and the next raw round replays them, each evaluation
environment's episodes in an environment of its own with the same history (the
simulators are deterministic, so these are the same trajectories), in the same
alternation; its ratio is the evaluation's own overhead. The last column is the
share of the full evaluation's own time spent inside `env.reset` and `env.step`
(the evaluation's environments timed by a wrapper), the same figure measured from
inside.

    .venv/bin/python benchmarks/overhead.py [--popsize 32] [--episodes 3] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

from envs import EvalSettings, Evaluator, env_info
from genome import GenomeSpec, initial_vector


class RawSteps:
    """`env.step` with pre-sampled random actions, resetting when an episode ends."""

    def __init__(self, env_id: str):
        self.env = gym.make(env_id)
        self.env.reset(seed=0)
        self.env.action_space.seed(0)
        self.actions = [self.env.action_space.sample() for _ in range(1000)]

    def steps_per_second(self, steps: int) -> float:
        start = time.perf_counter()
        for t in range(steps):
            _, _, terminated, truncated, _ = self.env.step(self.actions[t % 1000])
            if terminated or truncated:
                self.env.reset()
        return steps / (time.perf_counter() - start)


class TimedEnv(gym.Wrapper):
    """Seconds spent inside the wrapped environment's `reset` and `step`, and what was asked
    of it: each episode's reset seed and actions (`episodes`), for `ReplaySteps`."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.seconds = 0.0
        self.episodes: list[tuple[int | None, list]] = []

    def reset(self, **kwargs):
        self.episodes.append((kwargs.get("seed"), []))
        start = time.perf_counter()
        try:
            return self.env.reset(**kwargs)
        finally:
            self.seconds += time.perf_counter() - start

    def step(self, action):
        self.episodes[-1][1].append(action)  # a fresh array or scalar every step: no copy
        start = time.perf_counter()
        try:
            return self.env.step(action)
        finally:
            self.seconds += time.perf_counter() - start


class ReplaySteps:
    """Raw `env.step` on the policy's own actions: each evaluation environment's recorded
    episodes replayed, in order, in an environment of its own.

    Box2D's world carries state from one episode to the next in the same environment
    (BipedalWalker-v3's replays in a single environment drifted from their recording in
    about a third of its episodes), so each replay environment has its evaluation
    environment's whole history, warm-up included. A replay that ends early stops there;
    `diverged` counts the episodes that did not end where recorded.
    """

    def __init__(self, env_id: str, n: int):
        self.envs = [gym.make(env_id) for _ in range(n)]
        self.diverged = self.replayed = 0

    def replay(self, per_env: list[list[tuple[int | None, list]]]) -> int:
        """Step through every environment's episodes; the steps taken."""
        steps = 0
        for env, episodes in zip(self.envs, per_env, strict=True):
            for seed, actions in episodes:
                env.reset(seed=seed)
                done, stepped = False, 0
                for action in actions:
                    _, _, terminated, truncated, _ = env.step(action)
                    stepped += 1
                    done = terminated or truncated
                    if done:
                        break
                steps += stepped
                self.diverged += not done or stepped < len(actions)
                self.replayed += 1
        return steps

    def steps_per_second(self, per_env: list[list[tuple[int | None, list]]]) -> float:
        start = time.perf_counter()
        steps = self.replay(per_env)
        return steps / (time.perf_counter() - start)

    def close(self) -> None:
        for env in self.envs:
            env.close()


class FullEvaluation:
    """A node's in-process evaluation of a random population around the initial genome."""

    def __init__(self, env_id: str, kind: str, hidden: tuple[int, ...], popsize: int,
                 episodes: int):
        info = env_info(env_id)
        spec = GenomeSpec(kind, (info.obs_dim, *hidden, info.act_dim))
        rng = np.random.default_rng(0)
        self.X = initial_vector(spec) + 0.5 * rng.standard_normal((popsize, spec.dim))
        self.evaluator = Evaluator(EvalSettings(env_id, spec), workers=0)
        # Every environment the batch will use, created now and timed (in-process only).
        envs = self.evaluator._local._ensure_envs(popsize * episodes)
        envs[:] = [TimedEnv(env) for env in envs]
        self.envs: list[TimedEnv] = list(envs)
        self.evaluator.evaluate(self.X[:2], [0])  # load compiled kernels (recorded too)
        self.episodes = episodes
        self.seed = 1
        self.last_share = 0.0  # of the last round: seconds in the environments / elapsed

    def take_episodes(self) -> list[list[tuple[int | None, list]]]:
        """Per environment, the episodes (reset seed, actions) it ran since the last call."""
        per_env = [env.episodes for env in self.envs]
        for env in self.envs:
            env.episodes = []
        return per_env

    def steps_per_second(self, steps: int) -> float:
        ev = self.evaluator
        in_env = sum(env.seconds for env in self.envs)
        before, start = ev.steps, time.perf_counter()
        while ev.steps - before < steps:
            ev.evaluate(self.X, np.arange(self.seed, self.seed + self.episodes))
            self.seed += self.episodes
        elapsed = time.perf_counter() - start
        self.last_share = (sum(env.seconds for env in self.envs) - in_env) / elapsed
        return (ev.steps - before) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--popsize", type=int, default=32)
    parser.add_argument("--episodes", type=int, default=3, help="episodes per evaluation")
    parser.add_argument("--hidden", default="16,16")
    parser.add_argument("--steps", type=int, default=20000, help="per measurement round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--envs", default="CartPole-v1,LunarLander-v3,BipedalWalker-v3")
    args = parser.parse_args()
    hidden = tuple(int(h) for h in args.hidden.split(",") if h)
    print(f"population {args.popsize} x {args.episodes} episodes, hidden {hidden}, "
          f"best of {args.rounds} alternating rounds")
    print(f"{'environment':<18} {'kind':<14} {'raw steps/s':>12} {'eval steps/s':>13} "
          f"{'ratio':>6} {'replay steps/s':>15} {'ratio':>6} {'simulator share':>16} "
          f"{'replays diverged':>17}")
    for env_id in args.envs.split(","):
        raw = RawSteps(env_id)
        for kind in ("weights", "rules", "weights+rules"):
            full = FullEvaluation(env_id, kind, hidden, args.popsize, args.episodes)
            replay = ReplaySteps(env_id, len(full.envs))
            replay.replay(full.take_episodes())  # the warm-up's, untimed: the same history
            replay.diverged = replay.replayed = 0
            raw_best = full_best = replay_best = 0.0
            for _ in range(args.rounds):
                raw_best = max(raw_best, raw.steps_per_second(args.steps))
                speed = full.steps_per_second(args.steps)
                if speed > full_best:
                    full_best, share = speed, full.last_share
                replay_best = max(replay_best, replay.steps_per_second(full.take_episodes()))
            full.evaluator.close()
            replay.close()
            print(f"{env_id:<18} {kind:<14} {raw_best:>12,.0f} {full_best:>13,.0f} "
                  f"{full_best / raw_best:>6.2f} {replay_best:>15,.0f} "
                  f"{full_best / replay_best:>6.2f} {share:>16.2f} "
                  f"{replay.diverged:>8} of {replay.replayed:<6}", flush=True)
        raw.env.close()


if __name__ == "__main__":
    main()
