"""Migrants in and out of one node: deduplicated, relayed for a few rounds, sent in batches.

Emitted and received migrants pass the same `Relay` (each key once); a fresh
one goes at once to the peers the topology picks from the active view, and
again for `relay_rounds` rounds, in messages of at most `max_migrants`
migrants and `max_message_bytes` bytes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from gossip.config import GossipConfig
from gossip.mailbox import Counters, FairInbox, Mailbox
from gossip.messages import MIGRANTS, Message, encode_message
from gossip.migrant import Migrant, migrant_key
from gossip.outbound import Outbound
from gossip.relay import Relay
from gossip.topology import make_topology

Wire = dict[str, Any]


class Spreader:
    """Pushes this island's emitted elites and relays received ones to topology peers."""

    def __init__(
        self, config: GossipConfig, out: Outbound, inbox: FairInbox[Migrant],
        outbox: Mailbox[Wire], counters: Counters, active: Callable[[], list[str]],
        event: Callable[..., None], rng: random.Random,
    ) -> None:
        self.config, self.out, self.inbox, self.outbox = config, out, inbox, outbox
        self.counters, self.active, self.event, self.rng = counters, active, event, rng
        self.topology = make_topology(config.topology)
        self.relay: Relay[Wire] = Relay(config.relay_rounds, config.max_migrants)

    def flush_outbox(self) -> None:
        """Send what the island emitted since the last call."""
        wires = self.outbox.take()
        if not wires:
            return
        self.counters.add("migrants_emitted", len(wires))
        fresh = [w for w in wires if self.relay.offer(migrant_key(w), w)]
        if fresh:
            self._push(fresh, relayed=False)

    def round(self) -> None:
        """One relay round: migrants still due go out again."""
        due = self.relay.due()
        if due:
            self._push(due, relayed=True)

    def receive(self, msg: Message, key: str | None) -> None:
        """Migrants from a proven sender: new ones to the island's inbox and the relay."""
        for migrant, wire in zip(msg.body["migrants"], msg.body["wire"], strict=True):
            if migrant.origin != msg.sender and self.config.relay_rounds == 0:
                # Without relaying, a migrant comes from its own island: another origin is
                # a peer passing off genomes as someone else's.
                self.counters.add("migrants_rejected.origin_not_sender")
                continue
            if not self.relay.offer(migrant_key(wire), wire):
                self.counters.add("migrants_duplicate")
                continue
            self.counters.add("migrants_received")
            if not self.inbox.put(msg.sender, migrant):
                self.counters.add("inbox_dropped")
            self.event("migrant_received", sender=msg.sender, sender_addr=msg.addr,
                       claimed_fitness=migrant.claimed_fitness, **summary(wire),
                       **({"sender_key": key} if key is not None else {}))

    def _push(self, wires: list[Wire], relayed: bool) -> None:
        """Send migrants to the active-view peers the topology picks."""
        targets = self.topology.choose(self.active(), self.out.address, self.config.fanout,
                                       self.rng)
        if not targets:
            self.counters.add("migrants_unsent", len(wires))
            return
        for payload, batch in self._pack(wires):
            for address in targets:
                sent = self.out.send_payload(address, MIGRANTS, payload)
                if sent:
                    self.counters.add("migrants_sent", len(batch))
                    if relayed:
                        self.counters.add("migrants_relayed", len(batch))
                for wire in batch:
                    name = "migrant_sent" if sent else "migrant_send_dropped"
                    self.event(name, to=address, relayed=relayed, **summary(wire))

    def _pack(self, wires: list[Wire]) -> list[tuple[bytes, list[Wire]]]:
        """Messages of at most max_migrants migrants and max_message_bytes bytes each."""
        step = self.config.max_migrants
        todo = [wires[i : i + step] for i in range(0, len(wires), step)]
        out = []
        while todo:
            batch = todo.pop()
            payload = encode_message(MIGRANTS, self.out.node_id, self.out.address,
                                     {"migrants": batch})
            if len(payload) <= self.config.max_message_bytes:
                out.append((payload, batch))
            elif len(batch) > 1:
                half = len(batch) // 2
                todo += [batch[:half], batch[half:]]
            else:
                self.counters.add("migrants_too_large")
                self.event("migrant_too_large", bytes=len(payload), **summary(batch[0]))
        return out


def summary(wire: Wire) -> dict[str, Any]:
    """The fields of a migrant that its log lines carry."""
    return {
        "origin": wire["origin"],
        "generation": wire["generation"],
        "role": wire["role"],
        "env_id": wire["env_id"],
        "fingerprint": wire["genome"]["fingerprint"],
    }
