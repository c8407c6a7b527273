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
The gate decides and counts; it returns a `Verdict` and the engine acts on it
(a drop with a reason is counted and written as an event there, rate-limited).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from gossip.budget import TokenBuckets
from gossip.config import GossipConfig
from gossip.mailbox import Counters
from gossip.messages import REPLIES, STATUS_REQUEST, Message, MessageError, decode_message
from gossip.proofs import UNPROVEN, Proofs

STATUS_RATE = 20.0  # status answers per second to one source address (burst: 2 s worth)


class Standing(Enum):
    """What a message that passed the gate may do next."""

    REPLY = "reply"  # a reply on our own connection to the address we dialled
    STATUS = "status"  # a status request: answered to anyone, changes nothing
    UNPROVEN = "unproven"  # from a connection not yet bound: ping, join, prove or echo
    PROVEN = "proven"  # from a connection proven to be the node it names
    DROPPED = "dropped"  # goes no further


@dataclass(frozen=True)
class Verdict:
    """What the gate made of one message: its standing, and why it was dropped if it was.

    A drop without a reason (over budget) was counted by the gate and is not logged.
    """

    standing: Standing
    msg: Message | None = None
    reason: str | None = None
    sender: str | None = None


SILENT_DROP = Verdict(Standing.DROPPED)


class Gate:
    """Budget, decoding and identity checks for one node's incoming messages."""

    def __init__(self, config: GossipConfig, node_id: str, counters: Counters, proofs: Proofs,
                 owners: dict[str, str] | None, clock: Callable[[], float]) -> None:
        self.node_id, self.counters, self.proofs = node_id, counters, proofs
        self.owners, self.clock = owners, clock
        self.max_bytes = config.max_message_bytes
        self.budgets = TokenBuckets(config.sender_rate, 2 * config.sender_rate)
        self.status_budgets = TokenBuckets(STATUS_RATE, 2 * STATUS_RATE)

    def admit(self, route: bytes, frames: list[bytes], peer_ip: str | None, key: str | None,
              via: str | None) -> Verdict:
        """The message and its standing, or a drop and its reason."""
        self.counters.add("messages_received")
        identity = self.proofs.identity(route) if via is None else None
        owner = via if via is not None else (identity.node_id if identity else route)
        if not self.budgets.allow(owner, self.clock()):
            self.counters.add("over_budget")  # counted, never logged one by one
            return SILENT_DROP
        msg = self._decode(frames)
        if not isinstance(msg, Message):
            return msg
        if via is not None:  # a peer we dialled is held to the budget too
            if msg.type not in REPLIES:
                return _drop("not_a_reply", msg)
            return self._accept(Standing.REPLY, msg)
        if msg.type in REPLIES:
            return _drop("unsolicited_reply", msg)
        if msg.type == STATUS_REQUEST:
            # Budgeted per source address too: 50 connections from one host must not buy
            # 50 budgets of answers (issue 41 measured a flood answered 20,000 of 20,000).
            if not self.status_budgets.allow(peer_ip or route, self.clock()):
                self.counters.add("status_over_budget")
                return SILENT_DROP
            return Verdict(Standing.STATUS, msg)
        if self.owners is not None and self.owners.get(key or "") != msg.sender:
            return _drop("spoofed_id", msg)  # an allowed key, another node's id
        if identity is None:
            if msg.type not in UNPROVEN:
                # A neighbour whose connection we cannot place (this node restarted, and its
                # bindings with it) is asked to prove it, as a join would be: the next
                # message it sends on that connection counts (issue 41's soak lost migrants
                # to a restarted member until the sender's view changed). Challenges are
                # bounded per address and in all, as for joins.
                self.proofs.challenge(msg.addr, msg.sender)
                return _drop("unproven_sender", msg)
            return self._accept(Standing.UNPROVEN, msg)
        if (identity.node_id, identity.address) != (msg.sender, msg.addr):
            return _drop("spoofed_id", msg)  # a bound connection, another name
        return self._accept(Standing.PROVEN, msg)

    def _decode(self, frames: list[bytes]) -> Message | Verdict:
        if len(frames) != 1:
            return Verdict(Standing.DROPPED, reason="bad_frames")
        try:
            msg = decode_message(frames[0], self.max_bytes)
        except MessageError as exc:
            return Verdict(Standing.DROPPED, reason=exc.reason, sender=exc.sender)
        if msg.sender == self.node_id:
            return _drop("from_self", msg)  # e.g. our own alias in peers.txt
        return msg

    def _accept(self, standing: Standing, msg: Message) -> Verdict:
        self.counters.add("messages_accepted")
        self.counters.add(f"received.{msg.type}")
        return Verdict(standing, msg)


def _drop(reason: str, msg: Message) -> Verdict:
    return Verdict(Standing.DROPPED, msg, reason, msg.sender)
