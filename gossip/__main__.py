"""`python -m gossip`: a member of the network that gossips and evolves nothing.

A light node for tests of the membership protocol with many real processes
(and a seed that only relays, if one is wanted). Prints one JSON line with
its address once bound, answers status queries, and exits 0 on SIGTERM or
SIGINT, or after `--max-time` seconds.

    python -m gossip --node-id seed --bind tcp://127.0.0.1:0 --peers peers.txt
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from dataclasses import fields

from gossip.config import GossipConfig
from gossip.service import Gossip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gossip", description=__doc__.split("\n")[0])
    parser.add_argument("--node-id", required=True)
    parser.add_argument("--max-time", type=float, default=0.0, help="seconds; 0: until a signal")
    for f in fields(GossipConfig):
        kind = {"int": int, "float": float}.get(str(f.type).split(" ")[0], str)
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind)
    args = parser.parse_args(argv)
    changes = {f.name: getattr(args, f.name) for f in fields(GossipConfig)
               if getattr(args, f.name) is not None}
    try:
        gossip = Gossip(GossipConfig(**changes), args.node_id, status=lambda: {"role": "gossip"})
        gossip.start()
    except (ValueError, OSError) as exc:
        print(f"python -m gossip: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(json.dumps({"node": args.node_id, "address": gossip.address}), flush=True)
    stop.wait(args.max_time or None)
    gossip.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
