"""`query_status`: ask a running node for its counters, live peers and island status.

Used by `island-node status ADDRESS`. The query makes its own context and
socket and closes both before returning, so it is safe from any thread.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import zmq

from gossip.address import is_ipv6, parse_address
from gossip.config import GossipConfig
from gossip.messages import (
    STATUS_REPLY,
    STATUS_REQUEST,
    MessageError,
    decode_message,
    encode_message,
)

CLIENT_ID = "status-client"


def query_status(
    address: str, timeout: float = 2.0, max_message_bytes: int = GossipConfig.max_message_bytes
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
    raise TimeoutError(f"no status reply from {target} within {timeout:g} s")
