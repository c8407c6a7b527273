"""The peer-to-peer layer: peers file, membership, message schema, sockets and migration.

The island uses `Gossip` (emit / drain / peers / counters / events / close),
`Migrant`, `GossipConfig` and `query_status`; everything else is internal.
"""

from gossip.config import GossipConfig
from gossip.messages import PROTOCOL_VERSION, MessageError
from gossip.migrant import ROLES, Migrant
from gossip.peers_file import PeerEntry, PeersFileError, parse_peers, read_peers_file
from gossip.service import Gossip
from gossip.status import query_status

__all__ = [
    "PROTOCOL_VERSION",
    "ROLES",
    "Gossip",
    "GossipConfig",
    "MessageError",
    "Migrant",
    "PeerEntry",
    "PeersFileError",
    "parse_peers",
    "query_status",
    "read_peers_file",
]
