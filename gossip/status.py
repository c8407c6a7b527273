"""`query_status`: ask a running node for its counters, live peers and island status.

Used by `island-node status ADDRESS`. The query makes its own context and
socket and closes both before returning, so it is safe from any thread. A node
that runs CurveZMQ answers only a client whose public key is in its allow list:
pass that client's key pair and the node's public key as `curve`.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

import zmq
import zmq.auth

from gossip.address import is_ipv6, parse_address
from gossip.config import GossipConfig
from gossip.curve import load_key_pair
from gossip.messages import (
    STATUS_REPLY,
    STATUS_REQUEST,
    MessageError,
    decode_message,
    encode_message,
)

CLIENT_ID = "status-client"


@dataclass(frozen=True)
class StatusCurve:
    """CURVE keys of a status query (Z85): the client's pair and the node's public key."""

    public: bytes
    secret: bytes
    server: bytes


def status_curve(secret_path: str, server_key: str) -> StatusCurve:
    """Keys from a `island-keygen` secret file and the node's `.key` file (or its Z85 key)."""
    public, secret = load_key_pair(secret_path, "--curve-secret")
    if os.path.exists(server_key):
        try:
            server, _ = zmq.auth.load_certificate(server_key)
        except (OSError, ValueError) as exc:
            raise ValueError(f"--server-key: {exc}") from None
    elif len(server_key) == 40:
        server = server_key.encode()
    else:
        raise ValueError(f"--server-key: {server_key!r} is neither a .key file nor a Z85 key")
    return StatusCurve(public, secret, server)


def query_status(
    address: str, timeout: float = 2.0,
    max_message_bytes: int = GossipConfig.max_message_bytes, curve: StatusCurve | None = None,
) -> dict[str, Any]:
    """The status reply of the node at `address`: node, address, peers, counters, status.

    Raises TimeoutError naming the address when no valid reply comes in time.
    """
    target = parse_address(address)
    nonce = secrets.token_hex(8)
    request = encode_message(STATUS_REQUEST, CLIENT_ID, "", {"nonce": nonce})
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    try:
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, max_message_bytes)
        if is_ipv6(target):
            sock.setsockopt(zmq.IPV6, 1)
        if curve is not None:
            sock.setsockopt(zmq.CURVE_SERVERKEY, curve.server)
            sock.setsockopt(zmq.CURVE_PUBLICKEY, curve.public)
            sock.setsockopt(zmq.CURVE_SECRETKEY, curve.secret)
        sock.connect(target)
        sock.send(request, zmq.NOBLOCK)  # queued until the connection is up (no IMMEDIATE)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not sock.poll(int(left * 1000) + 1, zmq.POLLIN):
                continue
            try:
                reply = decode_message(sock.recv(zmq.NOBLOCK), max_message_bytes)
            except (MessageError, zmq.Again):
                continue
            if reply.type == STATUS_REPLY and reply.body["nonce"] == nonce:
                return {k: v for k, v in reply.body.items() if k != "nonce"}
    finally:
        sock.close(linger=0)
        context.term()
    hint = "" if curve else " (a node with CurveZMQ needs --curve-secret and --server-key)"
    raise TimeoutError(f"no status reply from {target} within {timeout:g} s{hint}")
