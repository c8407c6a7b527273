"""Proof of address: a connection is believed to be a node once its address echoes a nonce.

Anyone can open a connection to our ROUTER and claim any id and address. So an
unbound connection may only ping, ask to join, prove or echo (DESIGN.md, Gossip):
a join is held (at most WAITING_JOINS, oldest dropped) while this node dials the
claimed address and sends it a nonce; when the echo comes back on the joining
connection, that connection is bound to the claimed identity (identity.py) and the
held join goes on as a proven request. A PROVE from a peer we dialled is echoed
on our connection to it, and its own connection to us is challenged in turn. We
may have dialled it under another spelling of its address (a host name in the
peers file, an IP in its `--advertise`): the echo goes on whichever open
connection reaches the same host and port (`Transport.reaching`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from gossip.config import GossipConfig
from gossip.identity import Bindings, Challenges, Identity
from gossip.mailbox import Counters
from gossip.messages import ACK, ECHO, JOIN, PING, PROVE, Message
from gossip.outbound import Outbound

UNPROVEN = frozenset({PING, JOIN, PROVE, ECHO})  # what an unproven connection may send
WAITING_JOINS = 64  # joins from unproven connections held while their address is challenged
WAITING_PROVES = 16  # proves held while the host name they claim is being looked up

Reject = Callable[[str, "str | None", "str | None"], None]  # reason, sender, peer ip
Proven = Callable[[bytes, Message], None]  # a request from a bound connection


class Proofs:
    """Which connection is which node, and the challenges that decide it."""

    def __init__(self, config: GossipConfig, out: Outbound,
                 reaching: Callable[[str], str | None], counters: Counters, reject: Reject,
                 proven: Proven, clock: Callable[[], float]) -> None:
        self.out, self.counters, self.clock = out, counters, clock
        self._reject, self._proven = reject, proven
        self.reaching = reaching
        self._ttl = max(2 * config.heartbeat_interval, 1.0)
        self.bindings = Bindings()
        self.challenges = Challenges(config.max_dials)
        self._waiting: OrderedDict[str, tuple[bytes, Message]] = OrderedDict()
        # address -> (prove, peer ip, expiry): a prove whose address did not match any of
        # our connections yet; a host name we dialled may still be resolving.
        self._proves: OrderedDict[str, tuple[Message, str | None, float]] = OrderedDict()

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
            if not self._echo(msg):
                self._proves.pop(msg.addr, None)
                self._proves[msg.addr] = (msg, peer_ip, self.clock() + self._ttl)
                while len(self._proves) > WAITING_PROVES:
                    _, (old, old_ip, _) = self._proves.popitem(last=False)
                    self._reject("unsolicited_prove", old.sender, old_ip)
        else:  # JOIN: believed once the claimed address echoes our nonce
            self._waiting.pop(msg.addr, None)
            self._waiting[msg.addr] = (route, msg)
            while len(self._waiting) > WAITING_JOINS:
                self._waiting.popitem(last=False)
            self.challenge(msg.addr, msg.sender)

    def _echo(self, msg: Message) -> bool:
        """Echo a prove on our connection to its sender, and challenge its connection to us
        in turn; False while no connection of ours reaches the address it claims."""
        via = self.reaching(msg.addr)
        if via is None:
            return False
        self.out.send(via, ECHO, {"nonce": msg.body["nonce"]})
        self.challenge(msg.addr, msg.sender)
        return True

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
        via = self.reaching(address)  # a connection we hold to it, however we named it
        if via is None and not self.out.may_dial(address, proof=True):
            return
        nonce = self.challenges.issue(address, node_id, self.clock(), self._ttl)
        if nonce is None:
            self.counters.add("challenges_refused")
            return
        self.out.send(via or address, PROVE, {"nonce": nonce})

    def expire(self, now: float) -> None:
        """Forget challenges nobody answered in time, and the joins that waited on them."""
        for address, (msg, peer_ip, expires) in list(self._proves.items()):
            if self._echo(msg):
                del self._proves[address]
            elif now >= expires:
                del self._proves[address]
                self._reject("unsolicited_prove", msg.sender, peer_ip)  # we never called it
        for address in self.challenges.expire(now):
            self.out.proof_dials.failed(address, now)
            self._waiting.pop(address, None)
            self.counters.add("challenges_expired")
