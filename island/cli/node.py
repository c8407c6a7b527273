"""`island-node`: run one island; with `--peers` (or `--bind`) it joins the gossip network.

    island-node                         # one local island on the embedded default
    island-node --peers peers.txt       # join a network
    island-node status tcp://HOST:PORT  # a running node's counters, as JSON
"""

from __future__ import annotations

import json
import sys

from island.cli.parser import Parser
from island.shutdown import Shutdown


def _parser() -> Parser:
    from island.config import add_config_flags

    parser = Parser(
        prog="island-node", usage="island-node [OPTION ...]  |  island-node status ADDRESS",
        description="Evolve Hebbian learning rules with CMA-ES on one island; gossip elites "
        "with peers. Every option can also be set in a TOML file (--config).",
        epilog="Also: `island-node status ADDRESS` prints a running node's counters.",
    )
    parser.add_argument("--fresh", action="store_true",
                        help="start a new run in the run directory, moving its old files "
                        "into previous-TIMESTAMP/ (without it, a node resumes its checkpoint "
                        "and refuses to start when no checkpoint there is usable)")
    add_config_flags(parser)
    return parser


def _status_parser() -> Parser:
    parser = Parser(prog="island-node status",
                    description="print a running node's counters, peers and status as JSON")
    parser.add_argument("address", help="the node's advertised address, tcp://HOST:PORT")
    parser.add_argument("--timeout", type=float, default=3.0,
                        help="seconds the node has to answer (default 3)")
    parser.add_argument("--curve-secret", metavar="FILE.key_secret",
                        help="this client's key pair; its public key must be in the node's "
                             "allow directory")
    parser.add_argument("--server-key", metavar="NODE.key",
                        help="the node's public key: its .key file or the Z85 text (a Z85 key may "
                             "start with '-': pass it as --server-key=KEY)")
    return parser


def _status(argv: list[str]) -> int:
    args = _status_parser().parse_args(argv)
    from gossip.status import query_status, status_curve

    try:
        if bool(args.curve_secret) != bool(args.server_key):
            raise ValueError("--curve-secret and --server-key go together")
        curve = status_curve(args.curve_secret, args.server_key) if args.curve_secret else None
        reply = query_status(args.address, timeout=args.timeout, curve=curve)
    except (TimeoutError, ValueError) as exc:
        print(f"island-node status: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(reply, indent=2, sort_keys=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["status"]:
        return _status(argv[1:])
    # Before numpy, gymnasium and the rest are imported: a signal at any moment ends cleanly.
    shutdown = Shutdown().install()
    args = _parser().parse_args(argv)
    from threadpoolctl import threadpool_limits

    from envs import UnknownEnvironmentError
    from genome.spec import SpecError
    from island.config import ConfigError, build_config
    from island.node import Node, NodeStartError
    from island.record import RecordError
    # The island's linear algebra (CMA-ES eigendecompositions) is small; threaded BLAS
    # would spin on the cores the evaluation workers use (5 ms single-threaded against
    # 15 ms with two threads for a 226-dimensional genome, measured while workers ran).
    threadpool_limits(1, user_api="blas")
    fresh = vars(args).pop("fresh")
    try:
        config = build_config(args)
        if shutdown.requested:  # stopped before it began: nothing to save, nothing written
            return 0
        networked = bool(config.gossip.peers) or "bind" in vars(args) or "advertise" in vars(args)
        node = Node(config, networked=networked, fresh=fresh, shutdown=shutdown)
    except (ConfigError, UnknownEnvironmentError, SpecError, NodeStartError, RecordError) as exc:
        print(f"island-node: {exc}", file=sys.stderr)
        return 2
    return node.run()


if __name__ == "__main__":
    sys.exit(main())
