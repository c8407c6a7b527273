"""Share of each node's CPU time spent in its gossip thread, from the nodes' own logs.

Every generation a networked node logs the CPU seconds of its process (island
and gossip threads), of its evaluation workers and of the gossip thread alone
(read from the thread's own clock). The share is gossip / (process + workers)
at a node's last generation. Point it at the run directories of a multi-node
run, for example an `island-cluster --out` directory:

    island-cluster examples/archipelago-lunar.toml --out runs/archipelago
    .venv/bin/python benchmarks/gossip_cost.py runs/archipelago
"""

from __future__ import annotations

import argparse
from pathlib import Path

from island.lab.report import find_run_dirs
from island.record import read_generations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="run directories or folders of them")
    args = parser.parse_args()
    print(f"{'node run':<40} {'wall s':>8} {'gossip cpu s':>13} {'node cpu s':>11} {'share':>7}")
    shares = []
    for run in find_run_dirs(args.runs):
        last = next((r for r in reversed(read_generations(Path(run) / "log.jsonl"))
                     if "gossip" in r.cpu), None)
        if last is None:
            continue  # a node without gossip, or from before CPU figures were logged
        cpu = last.cpu
        total = last.cpu_spent
        shares.append(cpu["gossip"] / total)
        print(f"{str(run):<40} {last.wall:>8.0f} {cpu['gossip']:>13.3f} {total:>11.1f} "
              f"{shares[-1]:>7.2%}")
    if shares:
        print(f"largest share {max(shares):.2%} over {len(shares)} nodes")


if __name__ == "__main__":
    main()
