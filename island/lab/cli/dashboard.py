"""`island-dashboard --peers peers.txt --port 8080`: a live web page of the whole network.

Nodes are found through the nodes themselves (status queries, then the peers each
one lists), starting from the peers file or from one node's address.
"""

from __future__ import annotations

import argparse
import errno
import signal
import sys
from typing import TYPE_CHECKING, Any

from island.cli.parser import Parser

if TYPE_CHECKING:
    from gossip.status import StatusCurve


def _parser() -> Parser:
    parser = Parser(prog="island-dashboard", description=__doc__.split("\n")[0])
    parser.add_argument("address", nargs="?", help="one node's address, tcp://HOST:PORT "
                        "(instead of, or besides, --peers)")
    parser.add_argument("--peers", metavar="FILE", help="a peers file: where the crawl starts")
    parser.add_argument("--port", type=int, default=8080, help="web page port (default 8080)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to serve on (default 127.0.0.1: this machine only)")
    parser.add_argument("--refresh", type=float, default=3.0,
                        help="seconds between polls of the nodes (default 3)")
    parser.add_argument("--timeout", type=float, default=2.0,
                        help="seconds a node has to answer a poll (default 2)")
    parser.add_argument("--dead-after", type=float, default=10.0,
                        help="seconds without an answer before a node shows as dead (default 10)")
    parser.add_argument("--curve-secret", metavar="FILE.key_secret",
                        help="this client's key pair; its public key must be in the nodes' "
                             "allow directories")
    parser.add_argument("--server-key", metavar="NODE.key",
                        help="the nodes' public key where the peers file gives none: "
                             "a .key file or the Z85 text (a node learned from a peer, not "
                             "from the file, is asked with this key; a Z85 key may start "
                             "with '-': pass it as --server-key=KEY)")
    return parser


def _seeds(args: argparse.Namespace) -> dict[str, str | None]:
    from gossip.address import AddressError, parse_address
    from gossip.peers_file import read_peers_file

    seeds: dict[str, str | None] = {}
    if args.peers:
        seeds.update({e.address: e.public_key for e in read_peers_file(args.peers)})
    if args.address:
        try:
            seeds.setdefault(parse_address(args.address), None)
        except AddressError as exc:
            raise ValueError(f"{args.address!r}: {exc}") from None
    if not seeds:
        raise ValueError("give a node's address or --peers FILE")
    return seeds


def _curve(args: argparse.Namespace) -> StatusCurve | None:
    """This client's key pair, and the nodes' public key where the peers file gives none."""
    from gossip.curve import load_key_pair
    from gossip.status import StatusCurve, status_curve

    if args.server_key and not args.curve_secret:
        raise ValueError("--server-key needs --curve-secret (this client's key pair)")
    if not args.curve_secret:
        return None
    if args.server_key:
        return status_curve(args.curve_secret, args.server_key)
    public, secret = load_key_pair(args.curve_secret, "--curve-secret")
    return StatusCurve(public, secret, b"")  # each node's key comes from its peers-file line


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from gossip.address import AddressError
    from gossip.peers_file import PeersFileError
    from island.lab.dashboard.crawl import Crawler
    from island.lab.dashboard.server import Dashboard

    try:
        crawler = Crawler(_seeds(args), _curve(args), args.timeout, args.dead_after, args.refresh)
        dashboard = Dashboard(crawler, args.host, args.port)
    except (ValueError, AddressError, PeersFileError) as exc:
        print(f"island-dashboard: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        why = "is in use (pick another with --port)" if exc.errno == errno.EADDRINUSE \
            else f"cannot be served: {exc.strerror or exc}"
        print(f"island-dashboard: port {args.port} on {args.host} {why}", file=sys.stderr)
        return 2

    def on_signal(_signum: int, _frame: Any) -> None:
        dashboard.close()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    alive = dashboard.poll_once()
    if alive:
        print(f"island-dashboard: {alive} nodes answer; serving {dashboard.url}", flush=True)
    else:
        print(f"island-dashboard: no node reachable from {', '.join(crawler.known)}; "
              f"serving {dashboard.url} and trying again every {args.refresh:g} s", flush=True)
    dashboard.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
