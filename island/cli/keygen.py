"""`island-keygen DIR [--name NAME]`: make a CurveZMQ key pair for a secured network.

Writes DIR/NAME.key (public: copy it into every peer's allow directory, and
its key into their peers files) and DIR/NAME.key_secret (this node's
`--curve-secret`; keep it private).
"""

from __future__ import annotations

import os
import socket
import sys

import zmq.auth

from island.cli.parser import Parser


def _parser() -> Parser:
    parser = Parser(prog="island-keygen", description=__doc__.split("\n")[0])
    parser.add_argument("dir", help="directory for the certificates (created if missing)")
    parser.add_argument("--name", default=socket.gethostname(),
                        help="certificate name, best the node id (default: the host name)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing pair")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.name or os.sep in args.name or args.name.startswith("."):
        print(f"island-keygen: bad name {args.name!r}", file=sys.stderr)
        return 2
    public = os.path.join(args.dir, f"{args.name}.key")
    secret = public + "_secret"
    if not args.force and (os.path.exists(public) or os.path.exists(secret)):
        print(f"island-keygen: {public} exists; use --force to replace it", file=sys.stderr)
        return 1
    os.makedirs(args.dir, exist_ok=True)
    public, secret = zmq.auth.create_certificates(args.dir, args.name)
    os.chmod(secret, 0o600)
    key, _ = zmq.auth.load_certificate(public)
    print(f"public:  {public}\nsecret:  {secret}\nkey:     {key.decode()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
