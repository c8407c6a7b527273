"""How good a run's CMA-ES samples are beside its mean, at its step size and at shares of it.

From a run's last checkpoint: its distribution mean, played on `--lifetimes` fresh training
lifetimes (8 copies), and `--samples` draws of its strategy at each step-size factor, each
played on its own `--lifetimes` lifetimes, in the run's training simulator. On LunarLander's
end game a wide distribution around a good mean wastes its samples; this measures how much.

    .venv/bin/python benchmarks/end_game_samples.py runs/tune-main-27001/seed-27001 \\
        [--factors 1,0.5,0.25] [--samples 32] [--lifetimes 12] [--seed 11]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from envs import EvalSettings
from envs.episodes import HELD_OUT_SEED_BASE
from envs.evaluator import LocalEvaluator
from genome.codec import decode_genome
from island.state import load_latest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="a run directory (checkpoint and best.msgpack)")
    parser.add_argument("--env", default="LunarLander-v3")
    parser.add_argument("--factors", default="1,0.5,0.25", help="step-size factors")
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--lifetimes", type=int, default=12, help="per genome")
    parser.add_argument("--seed", type=int, default=11, help="of the training seeds drawn")
    args = parser.parse_args()
    state, _ = load_latest(args.run)
    if state is None:
        raise SystemExit(f"{args.run}: no checkpoint")
    island = state.island
    spec = decode_genome((args.run / "best.msgpack").read_bytes())[0]
    evaluator = LocalEvaluator(EvalSettings(args.env, spec))
    rng = np.random.default_rng(args.seed)

    def scores(X: np.ndarray) -> np.ndarray:
        seeds = rng.integers(0, HELD_OUT_SEED_BASE, (args.lifetimes, 1))  # training seeds
        returns, _ = evaluator.episode_returns(X, seeds)
        return returns.mean(axis=(1, 2))

    mean = scores(np.repeat(island.mean[None], 8, axis=0))
    print(f"{args.run}: generation {island.generation}, step size {island.sigma:.3f}, "
          f"mean genome {mean.mean():.0f}")
    sigma = island.es.sigma
    for factor in (float(f) for f in args.factors.split(",")):
        island.es.sigma = sigma * factor
        X = np.asarray(island.es.ask(args.samples))  # pycma's ask without a tell: no update
        island.es.sigma = sigma
        q = scores(X)
        print(f"  x{factor:g}: samples' mean {q.mean():.0f}, median {np.median(q):.0f}, "
              f"share >= 200 {np.mean(q >= 200):.2f}")
    evaluator.close()


if __name__ == "__main__":
    main()
