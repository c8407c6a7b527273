"""How far can episode-level trial and error take a random linear policy in one lifetime?

A yardstick for issue 11's goals, not a rule family: the (1+1) elitist hill climber,
given more than any learning rule of this project has. Each episode it tries the best
weights so far plus a Gaussian perturbation, keeps the perturbed weights when their
return is at least the best so far, and (an oracle no rule has) stops exploring for
good once an episode reached the environment's solved level. Weight perturbation with
a reward baseline, the mechanism of the `learned` family's hand-set start, is this
search with a softer acceptance, so its lifetime curve bounds what such rules reach.

Same lifetimes as `island-eval --held-out-start 100000` scores: episode seeds from
2^31 + 100,000, a lifetime's K consecutive seeds, its initial weights from its first
seed (`genome.layout.random_weights`), argmax over the outputs. The perturbation
scales were tried on training seeds (0-99) first; the held-out block then ran once.

    .venv/bin/python experiments/hill_climbing_ceiling.py --out experiments/results
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import gymnasium as gym
import msgspec
import numpy as np

from envs.held_out import held_out_seeds
from genome.layout import random_weights
from genome.spec import GenomeSpec

# env: (lifetime in episodes, the solved level the oracle stops at, issue 11's goal)
SETTINGS = {"CartPole-v1": (20, 500.0, 475.0), "Acrobot-v1": (10, -100.0, -100.0)}
SCALES = (0.5, 1.0, 3.0)  # perturbation standard deviations, in units of the weights


def episode(env: gym.Env, W: np.ndarray, b: np.ndarray, seed: int) -> float:
    obs, _ = env.reset(seed=int(seed))
    total = 0.0
    while True:
        obs, reward, terminated, truncated, _ = env.step(int(np.argmax(W @ obs + b)))
        total += float(reward)
        if terminated or truncated:
            return total


def lifetime(env: gym.Env, spec: GenomeSpec, seeds: np.ndarray, scale: float,
             solved: float) -> list[float]:
    """One lifetime of the elitist hill climber on `seeds` (its episodes' seeds)."""
    ((W, b),) = random_weights(spec, np.random.default_rng(int(seeds[0])))
    rng = np.random.default_rng(int(seeds[0]) + 1)
    best, returns = -np.inf, []
    for k, seed in enumerate(seeds):
        explore = k > 0 and best < solved
        delta = scale * rng.standard_normal(W.shape) if explore else np.zeros_like(W)
        ret = episode(env, W + delta, b, seed)
        returns.append(ret)
        if ret >= best:
            W, best = W + delta, ret
    return returns


class CeilingRow(msgspec.Struct):
    """One environment and scale: a row of the JSON and the Markdown table."""

    env: str
    scale: float
    lifetime: int  # episodes
    lifetimes: int
    held_out_start: int | None  # None: training seeds 0..
    first: float  # mean return of the first episode
    last5: float  # mean return of the last five episodes
    last5_se: float
    reached_goal: float  # share of lifetimes whose last five reached the goal
    goal: float
    curve: list[float]


def measure(env_id: str, scale: float, lifetimes: int, offset: int | None) -> CeilingRow:
    K, solved, goal = SETTINGS[env_id]
    env = gym.make(env_id)
    spec = GenomeSpec("rules", (env.observation_space.shape[0], int(env.action_space.n)))
    seeds = (held_out_seeds(lifetimes, K, offset) if offset is not None
             else np.arange(lifetimes * K).reshape(lifetimes, K))
    curves = np.array([lifetime(env, spec, row, scale, solved) for row in seeds])
    last5 = curves[:, -5:].mean(axis=1)
    return CeilingRow(
        env=env_id, scale=scale, lifetime=K, lifetimes=lifetimes, held_out_start=offset,
        first=float(curves[:, 0].mean()), last5=float(last5.mean()),
        last5_se=float(last5.std() / np.sqrt(lifetimes)),
        reached_goal=float((last5 >= goal).mean()), goal=goal,
        curve=curves.mean(axis=0).round(1).tolist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("experiments/results"))
    parser.add_argument("--lifetimes", type=int, default=100)
    parser.add_argument("--training", action="store_true",
                        help="seeds 0-99 (where the scales were tried), not the held-out block")
    args = parser.parse_args()
    offset = None if args.training else 100_000
    rows = [measure(env_id, scale, args.lifetimes, offset)
            for env_id in SETTINGS for scale in SCALES]
    name = "hill-climbing-ceiling" + ("-training" if args.training else "")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps(msgspec.to_builtins(rows), indent=1))
    lines = ["| env | lifetime | scale | first episode | last 5 (± SE) | lifetimes at the goal |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r.env} | {r.lifetime} | {r.scale} | {r.first:.1f} | "
              f"{r.last5:.1f} ± {r.last5_se:.1f} | {100 * r.reached_goal:.0f}% |"
              for r in rows]
    (args.out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
