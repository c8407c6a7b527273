"""Whom to believe: every incoming message passes the gate before the engine acts on it.

Trust, in the order a request meets it (DESIGN.md, Gossip):
1. the sender's budget (messages per second per connection or proven node), before
   anything is decoded, so a flood costs a lookup and a counter; status requests have
   a second budget per source address, whatever the number of connections;
2. with CURVE, the key: a sender id other than the one its key is filed under
   is dropped as `spoofed_id`;
3. the connection: bound to an identity by a nonce echo (identity.py); a bound
   connection claiming another id or address is dropped as `spoofed_id`, an
   unbound one may only ping, join (which starts a proof), prove or echo; anything
   else it sends is dropped and starts a proof of the address it claims.
Replies on this node's own DEALERs are trusted to come from the dialled address.
Every drop is counted under its reason (and logged, rate-limited, by `reject`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from gossip.budget import TokenBuckets
from gossip.config import GossipConfig
from gossip.counters import Counters
from gossip.messages import REPLIES, STATUS_REQUEST, Message, MessageError, decode_message
from gossip.proofs import UNPROVEN, Proofs, Reject

STATUS_RATE = 20.0  # status answers per second to one source address (burst: 2 s worth)


class Standing(Enum):
    """What a message that passed the gate may do next."""

    REPLY = "reply"  # a reply on our own connection to the address we dialled
    STATUS = "status"  # a status request: answered to anyone, changes nothing
    UNPROVEN = "unproven"  # from a connection not yet bound: ping, join, prove or echo
    PROVEN = "proven"  # from a connection proven to be the node it names


@dataclass(frozen=True)
class Admitted:
    """A decoded message and what it may do."""

    standing: Standing
    msg: Message


class Gate:
    """Budget, decoding and identity checks for one node's incoming messages."""

    def __init__(self, config: GossipConfig, node_id: str, counters: Counters, proofs: Proofs,
                 owners: dict[str, str] | None, reject: Reject,
                 clock: Callable[[], float]) -> None:
        self.node_id, self.counters, self.proofs = node_id, counters, proofs
        self.owners, self._reject, self.clock = owners, reject, clock
        self.max_bytes = config.max_message_bytes
        self.budgets = TokenBuckets(config.sender_rate, 2 * config.sender_rate)
        self.status_budgets = TokenBuckets(STATUS_RATE, 2 * STATUS_RATE)

    def admit(self, route: bytes, frames: list[bytes], peer_ip: str | None, key: str | None,
              via: str | None) -> Admitted | None:
        """The message and its standing, or None when it was dropped (and counted)."""
        self.counters.add("messages_received")
        identity = self.proofs.identity(route) if via is None else None
        owner = via if via is not None else (identity.node_id if identity else route)
        if not self.budgets.allow(owner, self.clock()):
            self.counters.add("over_budget")  # counted, never logged one by one
            return None
        msg = self._decode(frames, peer_ip)
        if msg is None:
            return None
        if via is not None:  # a peer we dialled is held to the budget too
            if msg.type not in REPLIES:
                return self._drop("not_a_reply", msg, None)
            return self._accept(Standing.REPLY, msg)
        if msg.type in REPLIES:
            return self._drop("unsolicited_reply", msg, peer_ip)
        if msg.type == STATUS_REQUEST:
            # Budgeted per source address too: 50 connections from one host must not buy
            # 50 budgets of answers (issue 41 measured a flood answered 20,000 of 20,000).
            if not self.status_budgets.allow(peer_ip or route, self.clock()):
                self.counters.add("status_over_budget")
                return None
            return Admitted(Standing.STATUS, msg)
        if self.owners is not None and self.owners.get(key or "") != msg.sender:
            return self._drop("spoofed_id", msg, peer_ip)  # an allowed key, another node's id
        if identity is None:
            if msg.type not in UNPROVEN:
                # A neighbour whose connection we cannot place (this node restarted, and its
                # bindings with it) is asked to prove it, as a join would be: the next
                # message it sends on that connection counts (issue 41's soak lost migrants
                # to a restarted member until the sender's view changed). Challenges are
                # bounded per address and in all, as for joins.
                self.proofs.challenge(msg.addr, msg.sender)
                return self._drop("unproven_sender", msg, peer_ip)
            return self._accept(Standing.UNPROVEN, msg)
        if (identity.node_id, identity.address) != (msg.sender, msg.addr):
            return self._drop("spoofed_id", msg, peer_ip)  # a bound connection, another name
        return self._accept(Standing.PROVEN, msg)

    def _decode(self, frames: list[bytes], peer_ip: str | None) -> Message | None:
        if len(frames) != 1:
            self._reject("bad_frames", None, peer_ip)
            return None
        try:
            msg = decode_message(frames[0], self.max_bytes)
        except MessageError as exc:
            self._reject(exc.reason, exc.sender, peer_ip)
            return None
        if msg.sender == self.node_id:
            self._reject("from_self", msg.sender, peer_ip)  # e.g. our own alias in peers.txt
            return None
        return msg

    def _accept(self, standing: Standing, msg: Message) -> Admitted:
        self.counters.add("messages_accepted")
        self.counters.add(f"received.{msg.type}")
        return Admitted(standing, msg)

    def _drop(self, reason: str, msg: Message, peer_ip: str | None) -> None:
        self._reject(reason, msg.sender, peer_ip)
        return None
