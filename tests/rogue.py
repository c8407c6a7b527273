"""A rogue peer on 127.0.0.1 that speaks the protocol by hand: valid messages, lies inside.

It owns a real listening socket (so it can prove its own address when it
wants to be a member) and a DEALER to its victim. Every receive has a timeout.
Used by tests/test_rogue_peers.py and benchmarks/gossip_flood.py.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import zmq

from gossip.messages import (
    ACK,
    ECHO,
    JOIN,
    JOIN_REPLY,
    PING,
    PROVE,
    MessageError,
    decode_message,
    encode_message,
)

MAX_BYTES = 4 * 1024 * 1024


class Rogue:
    """Sends whatever it is told to; `pump` answers the victim so it stays a member."""

    def __init__(self, target: str, node_id: str = "rogue", hwm: int = 100_000) -> None:
        self.node_id = node_id
        self.context = zmq.Context()
        self.router = self.context.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        port = self.router.bind_to_random_port("tcp://127.0.0.1")
        self.address = f"tcp://127.0.0.1:{port}"
        self.dealer = self.context.socket(zmq.DEALER)
        self.dealer.setsockopt(zmq.LINGER, 0)
        self.dealer.setsockopt(zmq.SNDHWM, hwm)
        self.dealer.connect(target)
        self.replies: list[Any] = []

    def send(self, kind: str, body: dict[str, Any], sender: str | None = None,
             addr: str | None = None) -> bool:
        """One valid message; `sender` and `addr` default to the rogue's own (true) ones."""
        payload = encode_message(kind, sender or self.node_id, addr or self.address, body)
        try:
            self.dealer.send(payload, zmq.NOBLOCK)
        except zmq.Again:
            return False
        return True

    def pump(self, seconds: float = 0.0) -> None:
        """Answer the victim's proves and pings for `seconds` (at least one pass)."""
        deadline = time.monotonic() + seconds
        while True:
            if self.router.poll(10, zmq.POLLIN):
                route, payload = self.router.recv_multipart()[:2]
                self._answer(route, payload)
            while self.dealer.poll(0, zmq.POLLIN):
                with contextlib.suppress(MessageError):
                    self.replies.append(decode_message(self.dealer.recv(), MAX_BYTES))
            if time.monotonic() >= deadline:
                return

    def _answer(self, route: bytes, payload: bytes) -> None:
        try:
            msg = decode_message(payload, MAX_BYTES)
        except MessageError:
            return
        if msg.type == PROVE:
            self.send(ECHO, {"nonce": msg.body["nonce"]})
        elif msg.type == PING:
            reply = encode_message(ACK, self.node_id, self.address,
                                   {"nonce": msg.body["nonce"], "updates": []})
            self.router.send_multipart([route, reply])

    def join(self, timeout: float = 10.0) -> bool:
        """Become a proven member of the victim's active view, as an honest node would."""
        self.send(JOIN, {"neighbours": 0, "incarnation": 1, "replace": False})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump(0.05)
            if any(r.type == JOIN_REPLY and r.body["accepted"] for r in self.replies):
                return True
        return False

    def close(self) -> None:
        self.router.close(linger=0)
        self.dealer.close(linger=0)
        self.context.term()
