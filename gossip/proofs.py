"""Proof of address: a connection is believed to be a node once its address echoes a nonce.

Anyone can open a connection to our ROUTER and claim any id and address. So an
unbound connection may only ping, ask to join, prove or echo (DESIGN.md, Gossip):
a join is held (at most WAITING_JOINS, oldest dropped) while this node dials the
claimed address and sends it a nonce; when the echo comes back on the joining
connection, that connection is bound to the claimed identity (identity.py) and the
held join goes on as a proven request. A PROVE from a peer we dialled is echoed,
and its own connection to us is challenged in turn.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from gossip.config import GossipConfig
from gossip.counters import Counters
from gossip.identity import Bindings, Challenges, Identity
from gossip.messages import ACK, ECHO, JOIN, PING, PROVE, Message
from gossip.outbound import Outbound

UNPROVEN = frozenset({PING, JOIN, PROVE, ECHO})  # what an unproven connection may send
WAITING_JOINS = 64  # joins from unproven connections held while their address is challenged

Reject = Callable[[str, "str | None", "str | None"], None]  # reason, sender, peer ip
Proven = Callable[[bytes, Message], None]  # a request from a bound connection


class Proofs:
    """Which connection is which node, and the challenges that decide it."""

    def __init__(self, config: GossipConfig, out: Outbound, connected: Callable[[], set[str]],
                 counters: Counters, reject: Reject, proven: Proven,
                 clock: Callable[[], float]) -> None:
        self.out, self.counters, self.clock = out, counters, clock
        self._connected, self._reject, self._proven = connected, reject, proven
        self._ttl = max(2 * config.heartbeat_interval, 1.0)
        self.bindings = Bindings()
        self.challenges = Challenges(config.max_dials)
        self._waiting: OrderedDict[str, tuple[bytes, Message]] = OrderedDict()

    def identity(self, route: bytes) -> Identity | None:
        """The node a connection was proven to be, if any."""
        return self.bindings.get(route)

    def unproven(self, route: bytes, msg: Message, peer_ip: str | None) -> None:
        """A request on a connection not yet bound to anyone (it passed UNPROVEN)."""
        if msg.type == PING:  # answered on its own connection: tells the asker nothing new
            self.out.reply(route, ACK, {"nonce": msg.body["nonce"], "updates": []})
        elif msg.type == ECHO:
            self._echoed(route, msg, peer_ip)
        elif msg.type == PROVE:
            if msg.addr not in self._connected():
                self._reject("unsolicited_prove", msg.sender, peer_ip)  # we never called it
                return
            self.out.send(msg.addr, ECHO, {"nonce": msg.body["nonce"]})
            self.challenge(msg.addr, msg.sender)  # and prove its connection to us in turn
        else:  # JOIN: believed once the claimed address echoes our nonce
            self._waiting.pop(msg.addr, None)
            self._waiting[msg.addr] = (route, msg)
            while len(self._waiting) > WAITING_JOINS:
                self._waiting.popitem(last=False)
            self.challenge(msg.addr, msg.sender)

    def _echoed(self, route: bytes, msg: Message, peer_ip: str | None) -> None:
        if not self.challenges.answer(msg.body["nonce"], msg.addr, msg.sender):
            self._reject("bad_echo", msg.sender, peer_ip)
            return
        self.bindings.bind(route, Identity(msg.sender, msg.addr))
        self.out.proof_dials.succeeded(msg.addr)
        self.counters.add("identities_proven")
        waiting = self._waiting.pop(msg.addr, None)
        if waiting is not None and waiting[0] == route:
            self._proven(route, waiting[1])

    def challenge(self, address: str, node_id: str) -> None:
        """Send `address` a nonce to echo, unless one is out or dialling it is refused."""
        if self.challenges.pending(address):
            return
        if address not in self._connected() and not self.out.may_dial(address, proof=True):
            return
        nonce = self.challenges.issue(address, node_id, self.clock(), self._ttl)
        if nonce is None:
            self.counters.add("challenges_refused")
            return
        self.out.send(address, PROVE, {"nonce": nonce})

    def expire(self, now: float) -> None:
        """Forget challenges nobody answered in time, and the joins that waited on them."""
        for address in self.challenges.expire(now):
            self.out.proof_dials.failed(address, now)
            self._waiting.pop(address, None)
            self.counters.add("challenges_expired")
