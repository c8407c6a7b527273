"""`python -m gossip`: a member of the network that gossips and evolves nothing.

A light node for tests of the membership protocol with many real processes
(and a seed that only relays, if one is wanted). Prints one JSON line with
its address once bound, answers status queries, and exits 0 on SIGTERM or
SIGINT, or after `--max-time` seconds.

    python -m gossip --node-id seed --bind tcp://127.0.0.1:0 --peers peers.txt

With `--events FILE` it appends what it saw (joins, deaths, migrants received) to
FILE as JSON lines once a second, and drops the migrants it receives (it evolves
nothing), as the soak benchmark (benchmarks/gossip_soak.py) reads them.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from dataclasses import fields
from typing import TextIO

import msgspec

from gossip.config import GossipConfig
from gossip.options import set_field
from gossip.service import Gossip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gossip", description=__doc__.split("\n")[0])
    parser.add_argument("--node-id", required=True)
    parser.add_argument("--max-time", type=float, default=0.0, help="seconds; 0: until a signal")
    parser.add_argument("--events", help="append events to this JSON-lines file each second")
    for f in fields(GossipConfig):
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name)
    args = parser.parse_args(argv)
    config = GossipConfig()
    try:
        for f in fields(GossipConfig):
            if getattr(args, f.name) is not None:
                set_field(config, f.name, getattr(args, f.name), "--" + f.name.replace("_", "-"),
                          from_text=True)
        config.validate()
        gossip = Gossip(config, args.node_id, status=lambda: {"role": "gossip"})
        gossip.start()
    except (ValueError, OSError) as exc:
        print(f"python -m gossip: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(json.dumps({"node": args.node_id, "address": gossip.address}), flush=True)
    if args.events is None:
        stop.wait(args.max_time or None)
    else:
        end = time.monotonic() + args.max_time if args.max_time else float("inf")
        with open(args.events, "a", encoding="utf-8") as out:
            while not stop.wait(min(1.0, max(0.0, end - time.monotonic()))):
                _record(gossip, out)
                if time.monotonic() >= end:
                    break
            gossip.close()
            _record(gossip, out)
        return 0
    gossip.close()
    return 0


def _record(gossip: Gossip, out: TextIO) -> None:
    """The events since the last call, one JSON line each; received migrants are dropped."""
    gossip.drain()
    for event in gossip.events():
        out.write(msgspec.json.encode(event).decode() + "\n")
    out.flush()


if __name__ == "__main__":
    sys.exit(main())
