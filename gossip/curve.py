"""CurveZMQ keys of one node: its own pair, the allow list, and the servers' public keys.

The allow list is a directory of public certificates (`zmq.auth` format, as
`island-keygen` writes them) that stays local: keys are never learned from
gossip. To connect to a peer, a client must already know the peer's public
key: from the second field of its peers-file line, else from the certificate
in the allow directory named after the peer's node id (`NODE.key`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import zmq.auth

from gossip.peers_file import PeerEntry


@dataclass
class CurveKeys:
    """This node's key pair, its allow directory and the server keys it was given."""

    public: bytes
    secret: bytes
    allow_dir: str
    peer_keys: dict[str, bytes] = field(default_factory=dict)  # address -> Z85 public key

    def server_key(self, address: str, node_id: str | None) -> bytes | None:
        """Public key of the node at `address`, or None when no local source names it."""
        key = self.peer_keys.get(address)
        if key is not None:
            return key
        if not node_id or os.sep in node_id or node_id.startswith("."):
            return None
        path = os.path.join(self.allow_dir, f"{node_id}.key")
        try:
            public, _ = zmq.auth.load_certificate(path)
        except (OSError, ValueError):
            return None
        return public


def load_key_pair(secret_path: str, option: str = "curve_secret") -> tuple[bytes, bytes]:
    """(public, secret) from an `island-keygen` secret certificate; errors name `option`."""
    try:
        public, secret = zmq.auth.load_certificate(secret_path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{option}: {exc}") from None
    if not secret:
        raise ValueError(f"{option}: {secret_path} holds no secret key (use NAME.key_secret)")
    return public, secret


def load_curve_keys(secret_path: str, allow_dir: str, entries: list[PeerEntry]) -> CurveKeys:
    """Read this node's secret certificate; raise ValueError naming the file if unusable."""
    public, secret = load_key_pair(secret_path)
    if not zmq.auth.load_certificates(allow_dir):
        raise ValueError(f"curve_allow: no public certificates (*.key) in {allow_dir}")
    keys = {e.address: e.public_key.encode() for e in entries if e.public_key is not None}
    return CurveKeys(public, secret, allow_dir, keys)
