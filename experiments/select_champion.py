"""Choose the genome a finished run reports, on many training lifetimes, before any held-out score.

A node's champion is chosen by rounds of 10 lifetimes; on CartPole one lifetime's later
half has a standard deviation of about 140, so a round's winner is often luck (seen: a
champion of 368 replaced by one of 262 in the next round). This scores the node's
champion (`best.msgpack`), the best training sample and the final CMA-ES mean (from the
checkpoint) on the same fresh lifetimes with seeds below 2^31, and writes the highest to
`best.msgpack` (the node's own is kept as `best-node.msgpack`), so the report that follows
scores it on held-out seeds untouched by the choice.

    .venv/bin/python experiments/select_champion.py RUN_DIR [--lifetimes 100] [--seed-start N]

Writes RUN_DIR/selection.json. Run it once per run: a second run reads selection.json.
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import sys
from pathlib import Path

import msgspec
import numpy as np

from envs import Evaluator, lifetime_fitness
from genome.codec import encode_genome
from island.checkpoint import read_checkpoint
from island.lab.genome_file import GenomeFile
from island.plain import from_plain
from island.state import Checkpoint

TRAINING_SEEDS = 1_900_000_000  # below 2^31: training seeds, far from the node's own draws


def candidates(run: Path) -> dict[str, np.ndarray]:
    """The node's champion, its best training sample, and its final CMA-ES mean."""
    node = GenomeFile.read(run / "best-node.msgpack")
    path = run / "checkpoint.msgpack"
    island = from_plain(Checkpoint, read_checkpoint(path), str(path)).island
    return {"champion": node.x, "best sample": np.asarray(island.best.x, dtype=float),
            "mean": np.asarray(pickle.loads(island.cma).mean, dtype=float)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--lifetimes", type=int, default=100)
    parser.add_argument("--seed-start", type=int, default=TRAINING_SEEDS)
    args = parser.parse_args()
    done = args.run / "selection.json"
    if done.exists():
        print(done.read_text())
        return 0
    if not (args.run / "best-node.msgpack").exists():
        shutil.copy(args.run / "best.msgpack", args.run / "best-node.msgpack")
    node = GenomeFile.read(args.run / "best-node.msgpack")
    spec, _, settings = node.scored_in(simulator=node.trained_in)
    named = candidates(args.run)
    lifetime = node.lifetime
    seeds = args.seed_start + np.arange(args.lifetimes * lifetime).reshape(args.lifetimes,
                                                                          lifetime)
    assert seeds.max() < 2**31
    with Evaluator(settings, 0) as evaluator:
        curves = evaluator.episode_returns(np.stack(list(named.values())), seeds)
    scores = {}
    for name, c in zip(named, curves, strict=True):
        s = lifetime_fitness(c, settings.lifetime_fitness)
        scores[name] = {"mean": float(s.mean()), "stderr": float(s.std(ddof=1) / np.sqrt(len(s))),
                        "last_5": float(c[:, -5:].mean())}
        print(f"{name:<12} {s.mean():8.1f} ± {scores[name]['stderr']:.1f}  last 5: "
              f"{scores[name]['last_5']:.1f}")
    chosen = max(scores, key=lambda n: scores[n]["mean"])
    meta = msgspec.structs.replace(node.meta, chosen_by=f"select_champion: {chosen}, "
                                   f"{args.lifetimes} training lifetimes from seed "
                                   f"{args.seed_start}")
    (args.run / "best.msgpack").write_bytes(encode_genome(spec, named[chosen], meta.to_dict()))
    done.write_text(json.dumps({"chosen": chosen, "lifetimes": args.lifetimes,
                                "seed_start": args.seed_start, "simulator": settings.simulator,
                                "scores": scores}, indent=2))
    print(f"chosen: {chosen}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
