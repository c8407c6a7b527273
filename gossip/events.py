"""gossip's own events, one type each: what the gossip thread hands its host (`Gossip.events()`),
which a node writes to its `events.jsonl` as they are and every reader reads back through
these types (`GOSSIP_EVENT_TYPES`). Gossip does not know the island's record types; the
island knows these.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec


class GossipEvent(msgspec.Struct, omit_defaults=True):
    """When (wall clock, seconds) and which kind; the subclasses add their fields."""

    time: float
    event: str


class PeerChanged(GossipEvent):
    """peer_joined, peer_returned, peer_suspect, peer_left (`reason`) or peer_dead (`reason`,
    `suspected_for` seconds)."""

    peer: str
    node: str
    reason: str | None = None
    suspected_for: float | None = None


class MessageRejected(GossipEvent):
    reason: str
    sender: str | None
    peer_ip: str | None


class CurveRejected(GossipEvent):
    """A handshake the CURVE server refused."""

    reason: str
    endpoint: str
    errno: int


class PeerWithoutKey(GossipEvent):
    peer: str
    node: str | None


class InternalError(GossipEvent):
    where: str
    error: str


class EventsSuppressed(GossipEvent):
    """`count` events of kind `suppressed` the rate limit held back."""

    suppressed: str
    count: int


class MigrantOnWire(GossipEvent):
    """A migrant as its events name it (spreading.summary)."""

    origin: str
    generation: int
    role: str
    env_id: str
    fingerprint: str


class MigrantReceived(MigrantOnWire):
    sender: str
    sender_addr: str
    claimed_fitness: float | None
    sender_key: str | None = None


class MigrantSent(MigrantOnWire):
    """migrant_sent, or migrant_send_dropped (the socket refused it)."""

    to: str
    relayed: bool


class MigrantTooLarge(MigrantOnWire):
    bytes: int


PEER_EVENTS = ("peer_joined", "peer_returned", "peer_suspect", "peer_left", "peer_dead")

GOSSIP_EVENT_TYPES: dict[str, type[GossipEvent]] = {
    **dict.fromkeys(PEER_EVENTS, PeerChanged),
    "message_rejected": MessageRejected, "curve_rejected": CurveRejected,
    "peer_without_key": PeerWithoutKey, "internal_error": InternalError,
    "events_suppressed": EventsSuppressed, "migrant_received": MigrantReceived,
    "migrant_sent": MigrantSent, "migrant_send_dropped": MigrantSent,
    "migrant_too_large": MigrantTooLarge,
}


def gossip_event(kind: str, when: float | None = None, **fields: Any) -> GossipEvent:
    """The typed event of `kind` (one of GOSSIP_EVENT_TYPES); TypeError for a missing or
    unknown field, where it is made."""
    return GOSSIP_EVENT_TYPES[kind](time=time.time() if when is None else when, event=kind,
                                    **fields)
