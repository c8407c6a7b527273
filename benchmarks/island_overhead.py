"""Island overhead per generation for large genomes: CMA-ES ask + tell, without episodes.

A `weights+rules` genome of about 100,000 parameters (BipedalWalker-v3 with two
hidden layers of 300) is far above `sep_above`, so the island runs sep-CMA-ES
(diagonal covariance, linear cost per sample). The figure is generations per
second of island work alone: ask, tell with fitness, elites, two injected
migrants. A second figure runs a real `Node` (worker pool, genomes pickled to
the workers, networks built, log line, a checkpoint every 10 generations as by
default) with episodes cut to one step, so all that remains is what a node does per
generation besides acting in the environment.

    .venv/bin/python benchmarks/island_overhead.py [--hidden 300,300] [--generations 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from envs import env_info
from genome import GenomeSpec, initial_vector
from island.cmaes_island import Island
from island.config import config_from_mapping
from island.node import Node
from island.record import read_generations


def node_generations_per_second(env_id: str, hidden: tuple[int, ...], gens: int) -> float:
    """A real node whose episodes last one step: everything but the environment's time."""
    with tempfile.TemporaryDirectory() as run_dir:
        config = config_from_mapping({
            "evaluation": {"env": env_id, "kind": "weights+rules", "hidden": list(hidden),
                           "episodes": 1, "max_steps": 1, "validation_episodes": 0},
            "stop": {"max_generations": gens + 1, "target": "none", "final_episodes": 0},
            "run": {"run_dir": run_dir, "quiet": True},
        })
        Node(config).run()
        log = read_generations(Path(run_dir) / "log.jsonl")
        # From the end of the first generation: workers and environments exist by then.
        return (len(log) - 1) / (log[-1].wall - log[0].wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="BipedalWalker-v3")
    parser.add_argument("--hidden", default="300,300")
    parser.add_argument("--generations", type=int, default=30)
    parser.add_argument("--sep-above", type=int, default=2000)
    args = parser.parse_args()
    info = env_info(args.env)
    hidden = tuple(int(h) for h in args.hidden.split(",") if h)
    spec = GenomeSpec("weights+rules", (info.obs_dim, *hidden, info.act_dim))
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    island = Island(initial_vector(spec), 0.5, sep_above=args.sep_above, seed=1)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(args.generations):
        if island.generation:
            island.inject([e.x + 0.01 for e in island.elites(2)])
        X = island.ask().X
        island.tell(X, -np.sum(X[:, :100] ** 2, axis=1) + rng.standard_normal(len(X)))
    elapsed = time.perf_counter() - start
    print(f"genome {spec.dim:,} parameters ({args.env}, hidden {hidden}), "
          f"{'sep-CMA-ES (diagonal)' if island.diagonal else 'full CMA-ES'}, "
          f"population {island.popsize}")
    print(f"setup {setup:.2f} s; {args.generations} generations of ask + inject + tell in "
          f"{elapsed:.2f} s = {args.generations / elapsed:.1f} generations/s of island overhead")
    rate = node_generations_per_second(args.env, hidden, args.generations)
    print(f"whole node, episodes cut to one step: "
          f"{rate:.1f} generations/s")


if __name__ == "__main__":
    main()
