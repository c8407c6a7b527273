"""`island-report RUN_DIR... [--out DIR]`: figures, summary table, report.html, summary.json.

Each RUN_DIR is a node's run directory or a folder holding several (e.g. the --out of
island-cluster). The report goes to --out (default: the first RUN_DIR's `report/`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from island.cli.parser import Parser


def _parser() -> Parser:
    parser = Parser(prog="island-report", description=__doc__.split("\n")[0])
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                        help="node run directories, or folders of them")
    parser.add_argument("--out", help="report directory (default: RUN_DIR/report)")
    parser.add_argument("--no-videos", action="store_true",
                        help="skip the champion GIFs (they replay each island's best genome)")
    parser.add_argument("--strategy-lifetimes", type=int, default=20, metavar="N",
                        help="held-out lifetimes re-scoring each island's best with and "
                             "without plasticity for the learning-strategy panel (0: skip it)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.strategy_lifetimes < 0:
        print("island-report: --strategy-lifetimes: must be 0 or more", file=sys.stderr)
        return 2
    from island.lab.report import ReportError, format_table, write_report

    out = Path(args.out) if args.out else Path(args.run_dirs[0]) / "report"
    try:
        summary = write_report(args.run_dirs, out, videos=not args.no_videos,
                               strategy_lifetimes=args.strategy_lifetimes)
    except ReportError as exc:
        print(f"island-report: {exc}", file=sys.stderr)
        return 2
    print(format_table(summary.islands))
    print(f"island-report: wrote {out / 'report.html'} and {out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
