"""Settings of the gossip layer: the `[gossip]` section of a node's TOML config.

Field names are unique and flag-shaped because the island config embeds this
dataclass and turns each field into a `--flag-name`; `validate()` is the one
place untrusted values (TOML, flags) are checked.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields

from gossip.address import AddressError, parse_address
from gossip.topology import TOPOLOGIES

MIB = 1024 * 1024
# Protocol bounds every node enforces on what it receives, whatever its own config.
MAX_EXCHANGE = 256  # addresses in one peer-exchange sample
MAX_MIGRANTS_PER_MESSAGE = 64
MAX_PEER_TABLE = 4096


@dataclass
class GossipConfig:
    """How one node joins the network and moves migrants; defaults suit a LAN of tens of nodes."""

    bind: str = "tcp://0.0.0.0:5555"  # port 0 or * binds a free port
    advertise: str | None = None  # address peers should use; None: derived from bind
    peers: str | None = None  # path of the peers file
    fanout: int = 3  # peers each migration (and each peer-exchange round) goes to
    topology: str = "random"  # random | ring | full
    relay_rounds: int = 0  # rounds a received migrant is pushed on; 0 keeps the island model
    news_rounds: int = 4  # rounds a newly learned peer address is pushed on
    exchange_size: int = 16  # addresses in a heartbeat's peer-exchange sample
    heartbeat_interval: float = 1.0  # seconds between gossip rounds
    dead_after: float = 5.0  # seconds without hearing from a peer before it is dead
    disconnect_after: float = 60.0  # seconds dead before its outgoing socket is closed
    forget_after: float = 600.0  # seconds dead (or never answering) before a peer is forgotten
    max_peers: int = 1024  # bound of the peer table; a flood of addresses cannot grow it
    max_message_bytes: int = 4 * MIB  # larger messages are refused by the socket
    max_migrants: int = 16  # migrants per message
    inbox_size: int = 256  # received migrants waiting for drain(); the oldest drop first
    outbox_size: int = 256  # emitted migrants waiting for the gossip thread
    send_hwm: int = 64  # messages queued per outgoing socket before sends drop
    recv_hwm: int = 1024  # messages queued on the incoming socket
    reconnect_ivl: float = 0.1  # seconds before the first reconnect attempt (jittered)
    reconnect_ivl_max: float = 5.0  # cap of the reconnect back-off (jittered)
    gossip_seed: int | None = None  # seed of peer choice; None: from the OS
    curve_secret: str | None = None  # this node's secret certificate (CurveZMQ); needs curve_allow
    curve_allow: str | None = None  # directory of the public certificates allowed to connect

    def validate(self) -> None:
        """Check every field, raising ValueError that names the bad field and why."""
        for f in fields(self):
            _check_type(f.name, getattr(self, f.name), f.type)
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
        _at_least("news_rounds", self.news_rounds, 0)
        _between("exchange_size", self.exchange_size, 0, MAX_EXCHANGE)
        _between("max_migrants", self.max_migrants, 1, MAX_MIGRANTS_PER_MESSAGE)
        _between("max_peers", self.max_peers, 1, MAX_PEER_TABLE)
        _between("max_message_bytes", self.max_message_bytes, 64 * 1024, 1024 * MIB)
        for name in ("inbox_size", "outbox_size", "send_hwm", "recv_hwm"):
            _at_least(name, getattr(self, name), 1)
        for name in ("heartbeat_interval", "reconnect_ivl", "reconnect_ivl_max"):
            _positive(name, getattr(self, name))
        _positive("dead_after", self.dead_after)
        if self.dead_after <= self.heartbeat_interval:
            raise ValueError(
                f"dead_after: {self.dead_after} s must exceed "
                f"heartbeat_interval ({self.heartbeat_interval} s)"
            )
        for name in ("disconnect_after", "forget_after"):
            if getattr(self, name) < self.dead_after:
                raise ValueError(f"{name}: must be at least dead_after ({self.dead_after} s)")
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


def _check_type(name: str, value: object, annotation: object) -> None:
    text = str(annotation)
    optional = "None" in text
    if value is None:
        if not optional:
            raise ValueError(f"{name}: must be set")
        return
    if text.startswith("int"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif text.startswith("float"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
    else:
        ok = isinstance(value, str)
    if not ok:
        kind = text.split(" ")[0]
        raise ValueError(f"{name}: expected {kind}, got {value!r}")


def _at_least(name: str, value: int, low: int) -> None:
    if value < low:
        raise ValueError(f"{name}: must be at least {low}, got {value}")


def _between(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name}: must be in {low}..{high}, got {value}")


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name}: must be positive, got {value}")
