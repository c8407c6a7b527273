"""`island-cluster EXPERIMENT.toml --out DIR`: run every island of an experiment on this machine.

Each island is its own `island-node` process on a free 127.0.0.1 port, with a peers
file of the others and its run directory in DIR/<name>. Ctrl-C or SIGTERM stops them
all (SIGTERM, then SIGKILL after --grace seconds).
"""

from __future__ import annotations

import sys

from island.cli.parser import Parser
from island.config import ConfigError


def _parser() -> Parser:
    parser = Parser(prog="island-cluster", description=__doc__.split("\n")[0])
    parser.add_argument("experiment", help="experiment TOML: shared sections and [[island]]s")
    parser.add_argument("--out", required=True, help="directory of the islands' run directories")
    parser.add_argument("--refresh", type=float, default=2.0,
                        help="seconds between progress updates (default 2); on a terminal "
                        "one table is redrawn in place, elsewhere a line is printed")
    parser.add_argument("--grace", type=float, default=30.0,
                        help="seconds an island has to stop after SIGTERM (default 30)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from island.lab.experiment import Cluster, load_experiment
    from island.progress import LiveProgress

    try:
        plans = load_experiment(args.experiment)
        cluster = Cluster(plans, args.out)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"island-cluster: {exc}", file=sys.stderr)
        return 2
    progress = LiveProgress(sys.stdout)
    return cluster.run(refresh=args.refresh, grace=args.grace, echo=progress.message,
                       progress=progress)


if __name__ == "__main__":
    sys.exit(main())
