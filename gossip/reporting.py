"""What the gossip thread reports about itself: gauges, membership's events, CURVE refusals.

The engine runs the protocol; this module only reads its parts (membership,
transport, proofs) and writes what they say into `Shared` (bulletin.py): the
live-peer snapshot and the peer gauges when membership changed (each heartbeat
round in any case), membership's own events, and the handshakes the CURVE server
refused or peers we hold no key for.
"""

from __future__ import annotations

from gossip.bulletin import Bulletin, Shared
from gossip.membership import Membership
from gossip.proofs import Proofs
from gossip.transport import Transport


class Reporting:
    """Publishes one engine's state to the island thread and the run's events."""

    def __init__(self, shared: Shared, bulletin: Bulletin, membership: Membership,
                 transport: Transport, proofs: Proofs) -> None:
        self.shared, self.counters, self.bulletin = shared, shared.counters, bulletin
        self.membership, self.transport, self.proofs = membership, transport, proofs
        self._published_version = -1

    def publish(self, force: bool) -> None:
        """Refresh the live-peer snapshot and peer gauges when membership changed."""
        membership, transport, counters = self.membership, self.transport, self.counters
        if not force and membership.version == self._published_version:
            return
        self._published_version = membership.version
        for state, n in membership.counts().items():
            counters.set(f"peers_{state}", n)
        counters.set("incarnation", membership.incarnation)
        counters.set("awareness", membership.probes.awareness)
        counters.set("events_dropped", self.shared.events.dropped)
        counters.set("connections_open", len(transport.connected))
        if transport.cap is not None:
            counters.set("connections_in", len(transport.cap))
            counters.set("connections_refused", transport.cap.refused)
        counters.set("identities_bound", len(self.proofs.bindings))
        counters.set("names_unresolved", transport.unresolved)
        counters.set("name_lookups_timed_out", transport.resolver.timeouts)
        counters.set("passive_refused", membership.passive.refused)
        self.shared.set_live(membership.live(), list(membership.passive))

    def membership_events(self) -> None:
        """Write what membership noticed (joins, suspicions, deaths) as events."""
        for record in self.membership.drain_events():
            record.pop("t", None)
            self.bulletin.event(record.pop("event"), **record)

    def security(self) -> None:
        """Count and log handshakes the CURVE server refused and peers we hold no key for."""
        for record in self.transport.take_security_events():
            self.counters.add("curve_rejected")
            self.counters.add(f"curve_rejected.{record['reason']}")
            self.bulletin.event("curve_rejected", **record)
        for address in self.transport.take_keyless():
            self.counters.add("peers_without_key")
            node = self.membership.node_of(address)
            self.bulletin.event("peer_without_key", peer=address, node=node)
