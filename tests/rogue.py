"""A rogue peer on 127.0.0.1 that speaks the protocol by hand: valid messages, lies inside;
and the scene it acts in: real nodes on loopback, every one closed when the test ends.

The rogue owns a real listening socket (so it can prove its own address when it
wants to be a member) and a DEALER to its victim. Every receive has a timeout.
Used by tests/test_rogue_peers.py, tests/test_forged_claims.py and the gossip
benchmarks (flood, attacks, soak).
"""

from __future__ import annotations

import contextlib
import functools
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from genome import GenomeSpec
from gossip import Gossip, GossipConfig, Migrant
from gossip.events import GossipEvent
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
from tests import conftest

ROOT = Path(__file__).resolve().parent.parent
MAX_BYTES = 4 * 1024 * 1024
SPEC = GenomeSpec("weights+rules", (4, 8, 2))
wait_for = functools.partial(conftest.wait_for, timeout=15.0, interval=0.02)


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


class Exhaustion:
    """A stranger holding connections open: stalled TCP (no greeting), idle ZeroMQ DEALERs
    (handshake done, nothing sent) and oversized frames; `keep` reopens what the victim cut,
    as a persistent attacker would. No key, no membership."""

    def __init__(self, target: str, stalled: int, idle: int, source: str = "127.0.0.2") -> None:
        host, _, port = target.removeprefix("tcp://").rpartition(":")
        self.endpoint = (host.strip("[]"), int(port))
        self.source = source  # another loopback address: the node's own status client is not it
        self.dial = f"tcp://{source}:0;{host}:{port}"
        self.target, self.want_stalled = target, stalled
        self.stalled: list[socket.socket] = []
        self.context = zmq.Context()
        self.context.set(zmq.MAX_SOCKETS, idle + 64)
        self.idle: list[zmq.Socket] = []
        for _ in range(idle):
            sock = self.context.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(self.dial)
            self.idle.append(sock)
        self.refused = 0

    def keep(self) -> None:
        """Reopen stalled connections the victim closed, up to the number wanted."""
        alive = []
        for sock in self.stalled:
            try:
                gone = sock.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                sock.close()
            else:
                alive.append(sock)
        self.stalled = alive
        while len(self.stalled) < self.want_stalled:
            sock = socket.socket(socket.AF_INET)
            sock.setblocking(False)
            try:
                sock.bind((self.source, 0))
                sock.connect(self.endpoint)
            except BlockingIOError:
                pass
            except OSError:
                self.refused += 1
                sock.close()
                return
            self.stalled.append(sock)

    def oversized(self, megabytes: int) -> None:
        """One frame of `megabytes` MB on a fresh connection (the victim's MAXMSGSIZE cuts it)."""
        sock = self.context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 1)
        sock.connect(self.dial)
        with contextlib.suppress(zmq.Again):
            sock.send(b"\x92" + b"\0" * (megabytes * 1024 * 1024), zmq.NOBLOCK)
        self.idle.append(sock)

    def close(self) -> None:
        for sock in self.stalled:
            sock.close()
        for zsock in self.idle:
            zsock.close(linger=0)
        self.context.term()


def config(**changes) -> GossipConfig:
    """Fast membership (0.1 s periods, dead after 1 s) on a free loopback port."""
    settings = dict(bind="tcp://127.0.0.1:0", heartbeat_interval=0.1, dead_after=1.0)
    settings.update(changes)
    return GossipConfig(**settings)


def elite(origin: str, generation: int) -> Migrant:
    x = np.full(SPEC.dim, float(generation))
    return Migrant(origin, origin, SPEC, x, 1.0, generation, "elite", "CartPole-v1")


def fakes(n: int, salt: int = 0) -> list[str]:
    """Addresses nothing listens on (reserved documentation range)."""
    return [f"tcp://192.0.2.{1 + i % 250}:{1024 + salt * 4000 + i // 250}" for i in range(n)]


def deaths(node: Gossip, events: list[GossipEvent]) -> list[str]:
    """Peers `node` declared dead so far; `events` keeps what was drained before."""
    events += node.events()
    return [e.peer for e in events if e.event == "peer_dead"]


class Scene:
    """The nodes, rogues and plain sockets of one test or measurement, all closed when it
    ends (what `defer` was given first of all, then sockets, rogues and nodes)."""

    def __init__(self) -> None:
        self.nodes: list[Gossip] = []
        self.rogues: list[Rogue] = []
        self.sockets: list[zmq.Socket] = []
        self.processes: list[subprocess.Popen] = []
        self._context: zmq.Context | None = None
        self._deferred: list = []

    def __enter__(self) -> Scene:
        return self

    def __exit__(self, *exc: object) -> None:
        for call in reversed(self._deferred):
            call()
        for sock in self.sockets:
            sock.close(linger=0)
        if self._context is not None:
            self._context.term()
        for rogue in self.rogues:
            rogue.close()
        for node in self.nodes:
            node.close()
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()

    def defer(self, call) -> None:
        """Call `call()` first when the scene ends (e.g. release a hung resolver)."""
        self._deferred.append(call)

    def add(self, node: Gossip) -> Gossip:
        """Start `node` and close it with the scene."""
        self.nodes.append(node)
        node.start()
        return node

    def start(self, node_id: str, seeds=(), **changes) -> Gossip:
        return self.add(Gossip(config(**changes), node_id, seeds=list(seeds)))

    def pair(self, **changes) -> tuple[Gossip, Gossip]:
        """A victim (with `changes`) and an honest peer, each the other's only neighbour."""
        victim = self.start("victim", **changes)
        honest = self.start("honest", seeds=[victim.address])
        wait_for(lambda: victim.peers() == [honest.address]
                 and honest.peers() == [victim.address],
                 "victim and honest to become neighbours")
        return victim, honest

    def rogue(self, target: str, node_id: str = "rogue", join: bool = False) -> Rogue:
        """A rogue aimed at `target`; with `join`, a proven member of its active view."""
        rogue = Rogue(target, node_id=node_id)
        self.rogues.append(rogue)
        if join:
            assert rogue.join(), f"{node_id} could not even join"
        return rogue

    def member(self, node_id: str, bind: str, *flags: str) -> subprocess.Popen:
        """A `python -m gossip` member process (its first line on stdout says where it
        listens), killed when the scene ends if it still runs."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "gossip", "--node-id", node_id, "--bind", bind,
             "--max-time", "60", *flags],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.processes.append(proc)
        return proc

    def dealer(self, target: str, options: dict[int, Any] | None = None) -> zmq.Socket:
        """A bare DEALER connected to `target`, with socket `options` set first."""
        if self._context is None:
            self._context = zmq.Context()
        sock = self._context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        for option, value in (options or {}).items():
            sock.setsockopt(option, value)
        sock.connect(target)
        self.sockets.append(sock)
        return sock
