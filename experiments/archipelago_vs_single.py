"""Four gossiping islands against one island with the same total population and evaluations.

For each seed: one `island-node` with population 4P and 4E episode evaluations,
and an `island-cluster` of four nodes with population P and E evaluations each
(same total), all on LunarLander-v3 `weights+rules` on this machine. Every node
scores its champion on 100 held-out seeds when it stops. The archipelago's
answer is the island whose champion has the best *validation* score (held-out
scores are never used to choose); the mean over its islands is shown too.

    .venv/bin/python experiments/archipelago_vs_single.py --out runs/arch-vs-single

The table goes to stdout and `summary.json` in the output directory. Runs that
already finished (their node scored its champion) are read, not repeated, so an
interrupted experiment continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import tomli_w

from island.record import HeldOut, of_kind, read_events, read_generations

BIN = Path(sys.executable).parent


def finished(run: Path) -> bool:
    """A node that already scored its champion: a re-run of the script keeps its result."""
    return bool(of_kind(read_events(run / "events.jsonl"), HeldOut))


class Result(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One run of a setup: a node (an island of the archipelago, or the single node), or,
    with `chosen` and `islands`, the archipelago as a whole; `setup` and `seed` on a row of
    summary.json (unset fields are left out of it)."""

    setup: str | None = None
    seed: int | None = None
    run: str
    held_out: float
    chosen: str | None = None  # the island whose champion validated best
    validation: float | None
    islands_mean_held_out: float | None = None
    islands: list[Result] | None = None
    evaluations: int
    wall: float | None = None
    elapsed: float | None = None


def held_out(run: Path) -> Result:
    """The node's own final held-out score and its champion's validation score."""
    (score,) = of_kind(read_events(run / "events.jsonl"), HeldOut)[-1:]
    last = read_generations(run / "log.jsonl")[-1]
    return Result(run=run.name, held_out=score.held_out_mean,
                  validation=score.champion_validation, evaluations=last.evaluations,
                  wall=last.wall)


def common(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "evaluation": {"env": args.env, "kind": "weights+rules", "hidden": args.hidden,
                       "episodes": args.episodes},
        "evolution": {"sigma": args.sigma},
        "stop": {"final_episodes": 100, "target": "none"},  # the same evaluations for both
        "run": {"quiet": True},
    }


def run_single(args: argparse.Namespace, seed: int) -> Result:
    run = args.out / f"single-s{seed}"
    settings = common(args)
    settings["evaluation"]["workers"] = args.workers
    settings["evolution"].update(popsize=args.islands * args.popsize, seed=seed)
    settings["stop"]["max_evals"] = args.islands * args.evals
    settings["run"].update(run_dir=str(run), node_id=f"single-s{seed}")
    config = args.out / f"single-s{seed}.toml"
    config.write_text(tomli_w.dumps(settings))
    if not finished(run):
        subprocess.run([BIN / "island-node", "--config", str(config)], check=True)
    result = held_out(run)
    return msgspec.structs.replace(result, elapsed=result.wall)


def run_archipelago(args: argparse.Namespace, seed: int) -> Result:
    out = args.out / f"archipelago-s{seed}"
    experiment = common(args)
    # One worker per node: four nodes already keep both cores busy.
    experiment["evaluation"]["workers"] = max(1, args.workers // args.islands)
    experiment["evolution"]["popsize"] = args.popsize
    experiment["stop"]["max_evals"] = args.evals
    experiment["migration"] = {"interval": args.interval, "migrants": args.migrants}
    experiment["gossip"] = {"fanout": args.fanout, "topology": "random"}
    experiment["island"] = [{"name": f"island-{i}", "evolution": {"seed": seed * 100 + i}}
                            for i in range(1, args.islands + 1)]
    path = args.out / f"archipelago-s{seed}.toml"
    path.write_text(tomli_w.dumps(experiment))
    start = time.monotonic()
    runs = [out / f"island-{i}" for i in range(1, args.islands + 1)]
    if not all(finished(run) for run in runs):
        subprocess.run([BIN / "island-cluster", str(path), "--out", str(out)], check=True,
                       stdout=subprocess.DEVNULL)
    islands = [held_out(run) for run in runs]
    chosen = max(islands, key=lambda r: r.validation)
    return Result(run=out.name, held_out=chosen.held_out, chosen=chosen.run,
                  validation=chosen.validation,
                  islands_mean_held_out=float(np.mean([r.held_out for r in islands])),
                  islands=islands, evaluations=sum(r.evaluations for r in islands),
                  elapsed=max(time.monotonic() - start, max(r.wall or 0.0 for r in islands)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/arch-vs-single"))
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--env", default="LunarLander-v3")
    parser.add_argument("--hidden", type=lambda s: [int(h) for h in s.split(",") if h],
                        default=[16], help="hidden layer sizes, e.g. 16 or 16,16 (default: 16)")
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--islands", type=int, default=4)
    parser.add_argument("--popsize", type=int, default=16, help="per island (single: x islands)")
    parser.add_argument("--evals", type=int, default=10000, help="per island (single: x islands)")
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--migrants", type=int, default=2)
    parser.add_argument("--fanout", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for kind, fn in (("single", run_single), ("archipelago", run_archipelago)):
            result = msgspec.structs.replace(fn(args, seed), setup=kind, seed=seed)
            rows.append(result)
            print(json.dumps(msgspec.to_builtins(msgspec.structs.replace(result, islands=None))),
                  flush=True)
    (args.out / "summary.json").write_text(json.dumps({"args": {
        k: str(v) for k, v in vars(args).items()}, "rows": msgspec.to_builtins(rows)}, indent=2))
    print("\n| setup | seed | evaluations | wall s | champion validation | held-out mean (100) |"
          " islands' mean held-out |\n|---|---|---|---|---|---|---|")
    for r in rows:
        mean = r.islands_mean_held_out
        print(f"| {r.setup} | {r.seed} | {r.evaluations:,} | {r.elapsed:.0f} | "
              f"{r.validation:.1f} | {r.held_out:.1f} | "
              f"{float('nan') if mean is None else mean:.1f} |")
    for setup in ("single", "archipelago"):
        scores = [r.held_out for r in rows if r.setup == setup]
        print(f"{setup}: held-out mean over seeds {np.mean(scores):.1f} "
              f"(min {np.min(scores):.1f}, max {np.max(scores):.1f})")


if __name__ == "__main__":
    main()
