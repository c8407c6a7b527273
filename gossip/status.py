"""A node's status over gossip: `status_payload` answers, `query_status` asks.

The answer carries the node's counters, live peers and island status (the
callback the node gave gossip); `island-node status ADDRESS` and the dashboard ask.
The query makes its own context and socket and closes both before returning, so it
is safe from any thread. A node that runs CurveZMQ answers only a client whose public
key is in its allow list: pass that client's key pair and the node's public key as
`curve`.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Mapping
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


def status_payload(
    node_id: str, address: str, nonce: str, peers: list[str], counters: Mapping[str, int],
    status: Callable[[], dict[str, Any]] | None, max_message_bytes: int,
) -> tuple[bytes, str | None]:
    """The encoded STATUS_REPLY, and what went wrong with the island's status if anything.

    A status callback that raises, returns what msgpack cannot encode, or makes the
    reply too large is answered with an `error` in place of the status: the peers and
    counters still reach the asker.
    """
    problem = None
    island: dict[str, Any] = {}
    if status is not None:
        try:
            island = dict(status())
        except Exception as exc:
            problem = f"status callback failed: {type(exc).__name__}"
            island = {"error": problem}
    body = {"nonce": nonce, "node": node_id, "address": address, "peers": peers,
            "counters": dict(counters), "status": island}
    try:
        payload = encode_message(STATUS_REPLY, node_id, address, body)
    except (TypeError, ValueError, OverflowError):
        problem = "status callback returned data msgpack cannot encode"
        body["status"] = {"error": problem}
        payload = encode_message(STATUS_REPLY, node_id, address, body)
    if len(payload) > max_message_bytes:
        problem = "status reply larger than max_message_bytes"
        body["status"], body["counters"] = {"error": problem}, {}
        payload = encode_message(STATUS_REPLY, node_id, address, body)
    return payload, problem


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
