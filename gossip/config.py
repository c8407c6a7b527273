"""Settings of the gossip layer: the `[gossip]` section of a node's TOML config.

Field names are unique and flag-shaped because the island config embeds this
dataclass and turns each field into a `--flag-name`; `validate()` is the one
place untrusted values (TOML, flags, `python -m gossip`) are checked, at the edge that
takes them (island/config.py, gossip/__main__.py): `Gossip` trusts its config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from gossip.address import AddressError, parse_address
from gossip.options import check_fields, option
from gossip.topology import TOPOLOGIES

MIB = 1024 * 1024
# Protocol bounds every node enforces on what it receives, whatever its own config.
MAX_EXCHANGE = 64  # addresses in one peer sample (shuffle, join reply)
MAX_UPDATES = 32  # membership updates in one message
MAX_MIGRANTS_PER_MESSAGE = 64
MAX_PEER_TABLE = 4096  # bound of any list in a message


@dataclass
class GossipConfig:
    """How one node joins the network and moves migrants; defaults suit a LAN of tens of nodes."""

    bind: str = option("tcp://0.0.0.0:5555", "address this node listens on; port 0 or * binds a "
                        "free port")
    advertise: str | None = option(None, "address peers should use; None: derived from bind")
    peers: str | None = option(None, "path of the peers file")
    fanout: int = option(3, "peers each migration (and each round of membership gossip) goes to")
    topology: str = option("random", "random | ring | full, over the active view")
    relay_rounds: int = option(0, "rounds a received migrant is pushed on; 0 keeps the island "
                                "model")
    heartbeat_interval: float = option(1.0, "SWIM protocol period: one member probed per period")
    dead_after: float = option(5.0, "suspicion timeout once other neighbours confirm it (6 x for "
                                "a lone accuser)")
    indirect_probes: int = option(3, "members asked to probe a member that did not answer")
    active_size: int = option(8, "HyParView active view: the peers this node holds connections to")
    passive_size: int = option(64, "HyParView passive view: addresses kept to repair the active "
                                "view")
    forget_after: float = option(600.0, "seconds a dead member's tombstone keeps old news out")
    dial_rate: float = option(4.0, "new outgoing connections per second (handshakes, probes, "
                               "joins)")
    max_dials: int = option(16, "connections open beyond the active view at any time")
    dial_backoff_max: float = option(60.0, "cap of the per-address back-off after a failed dial")
    sender_rate: float = option(100.0, "messages per second one sender may send (burst: 2 s "
                                 "worth)")
    migrants_per_sender: int = option(4, "migrants per sender that each drain() hands the island")
    event_rate: float = option(20.0, "events of one kind logged per second; the rest are counted")
    resolve_timeout: float = option(2.0, "seconds a host-name lookup may take (off the gossip "
                                     "thread)")
    max_message_bytes: int = option(4 * MIB, "larger messages are refused by the socket")
    max_connections: int = option(0, "incoming connections held at once; 0: half the file "
                                   "limit")
    max_connections_per_source: int = option(128, "incoming connections held from one IP "
                                              "address")
    max_migrants: int = option(16, "migrants per message")
    inbox_size: int = option(256, "received migrants waiting for drain() per sender; oldest drop "
                              "first")
    outbox_size: int = option(256, "emitted migrants waiting for the gossip thread")
    send_hwm: int = option(64, "messages queued per outgoing socket before sends drop")
    recv_hwm: int = option(1024, "messages queued on the incoming socket")
    reconnect_ivl: float = option(0.1, "seconds before the first reconnect attempt (jittered)")
    reconnect_ivl_max: float = option(5.0, "cap of the reconnect back-off (jittered)")
    gossip_seed: int | None = option(None, "seed of peer choice; None: from the OS")
    curve_secret: str | None = option(None, "this node's secret certificate (CurveZMQ); needs "
                                       "curve_allow")
    curve_allow: str | None = option(None, "directory of the public certificates allowed to "
                                      "connect")

    def validate(self) -> None:
        """Check every field, raising ValueError that names the bad field and why."""
        check_fields(self)
        try:
            parse_address(self.bind, allow_port_zero=True, allow_wildcard=True)
        except AddressError as exc:
            raise ValueError(f"bind: {exc}") from None
        if self.advertise is not None:
            try:
                parse_address(self.advertise)
            except AddressError as exc:
                raise ValueError(f"advertise: {exc}") from None
        if self.topology not in TOPOLOGIES:
            known = ", ".join(sorted(TOPOLOGIES))
            raise ValueError(f"topology: unknown {self.topology!r}; known: {known}")
        _at_least("fanout", self.fanout, 1)
        _at_least("relay_rounds", self.relay_rounds, 0)
        _between("indirect_probes", self.indirect_probes, 0, 16)
        _between("active_size", self.active_size, 1, 256)
        _between("passive_size", self.passive_size, 1, MAX_PEER_TABLE)
        _between("max_dials", self.max_dials, 1, 1024)
        _between("migrants_per_sender", self.migrants_per_sender, 1, MAX_MIGRANTS_PER_MESSAGE)
        _between("max_migrants", self.max_migrants, 1, MAX_MIGRANTS_PER_MESSAGE)
        _at_least("max_connections", self.max_connections, 0)
        _at_least("max_connections_per_source", self.max_connections_per_source, 1)
        _between("max_message_bytes", self.max_message_bytes, 64 * 1024, 1024 * MIB)
        for name in ("inbox_size", "outbox_size", "send_hwm", "recv_hwm"):
            _at_least(name, getattr(self, name), 1)
        for name in ("heartbeat_interval", "reconnect_ivl", "reconnect_ivl_max", "dial_rate",
                     "dial_backoff_max", "sender_rate", "event_rate", "resolve_timeout"):
            _positive(name, getattr(self, name))
        _positive("dead_after", self.dead_after)
        if self.dead_after <= self.heartbeat_interval:
            raise ValueError(
                f"dead_after: {self.dead_after} s must exceed "
                f"heartbeat_interval ({self.heartbeat_interval} s)"
            )
        if self.forget_after < self.dead_after:
            raise ValueError(f"forget_after: must be at least dead_after ({self.dead_after} s)")
        if self.reconnect_ivl_max < self.reconnect_ivl:
            raise ValueError("reconnect_ivl_max: must be at least reconnect_ivl")
        self._validate_curve()

    def _validate_curve(self) -> None:
        if (self.curve_secret is None) != (self.curve_allow is None):
            raise ValueError("curve_secret and curve_allow: set both (CurveZMQ) or neither")
        if self.curve_secret is not None and not os.path.isfile(self.curve_secret):
            raise ValueError(f"curve_secret: no such file {self.curve_secret!r}")
        if self.curve_allow is not None and not os.path.isdir(self.curve_allow):
            raise ValueError(f"curve_allow: no such directory {self.curve_allow!r}")

    @property
    def curve(self) -> bool:
        """True when CurveZMQ is configured."""
        return self.curve_secret is not None


def _at_least(name: str, value: int, low: int) -> None:
    if value < low:
        raise ValueError(f"{name}: must be at least {low}, got {value}")


def _between(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name}: must be in {low}..{high}, got {value}")


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name}: must be positive, got {value}")
