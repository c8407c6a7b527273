"""Who sent a message: identities proven by a nonce echo, and CURVE keys bound to node ids.

A message's `sender` and `addr` fields are claims. Without CURVE a node
believes them only from a connection that proved them: it dials the claimed
address itself and sends `prove` with a fresh nonce; only the node listening
there receives it, and it answers with `echo` on its own connection back.
That connection (its ZeroMQ routing id) is then bound to the node id and
address, and every later message on it must carry the same two. With CURVE
the public key is the identity: `island-keygen` names each key file after its
node (`NODE.key` in the allow directory), and a message whose sender is not
the node its key names is dropped.
"""

from __future__ import annotations

import os
import secrets
from collections import OrderedDict
from dataclasses import dataclass

import zmq.auth


@dataclass(frozen=True)
class Identity:
    node_id: str
    address: str


class Bindings:
    """Routing id of a proven incoming connection -> the identity it proved (bounded LRU)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._by_route: OrderedDict[bytes, Identity] = OrderedDict()

    def bind(self, route: bytes, identity: Identity) -> None:
        self._by_route.pop(route, None)
        self._by_route[route] = identity
        while len(self._by_route) > self.size:
            self._by_route.popitem(last=False)

    def get(self, route: bytes) -> Identity | None:
        identity = self._by_route.get(route)
        if identity is not None:
            self._by_route.move_to_end(route)
        return identity

    def __len__(self) -> int:
        return len(self._by_route)


@dataclass
class _Challenge:
    address: str
    node_id: str
    expires: float


class Challenges:
    """Outstanding `prove` nonces: at most one per address and `size` in all."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._by_nonce: dict[str, _Challenge] = {}
        self._by_address: dict[str, str] = {}

    def issue(self, address: str, node_id: str, now: float, ttl: float) -> str | None:
        """A nonce to send to `address`, or None when one is out already or too many are."""
        if address in self._by_address or len(self._by_nonce) >= self.size:
            return None
        nonce = secrets.token_hex(12)
        self._by_nonce[nonce] = _Challenge(address, node_id, now + ttl)
        self._by_address[address] = nonce
        return nonce

    def answer(self, nonce: str, address: str, node_id: str) -> bool:
        """True when `nonce` was sent to `address` for `node_id`; each nonce answers once."""
        challenge = self._by_nonce.get(nonce)
        if challenge is None or challenge.address != address or challenge.node_id != node_id:
            return False
        del self._by_nonce[nonce]
        self._by_address.pop(address, None)
        return True

    def pending(self, address: str) -> bool:
        return address in self._by_address

    def node_of(self, address: str) -> str | None:
        """The node id claimed for an address being challenged (its CURVE key is that node's)."""
        nonce = self._by_address.get(address)
        return self._by_nonce[nonce].node_id if nonce is not None else None

    def expire(self, now: float) -> list[str]:
        """Addresses whose challenge went unanswered."""
        late = [n for n, c in self._by_nonce.items() if now >= c.expires]
        out = []
        for nonce in late:
            challenge = self._by_nonce.pop(nonce)
            self._by_address.pop(challenge.address, None)
            out.append(challenge.address)
        return out

    def __len__(self) -> int:
        return len(self._by_nonce)


def key_owners(allow_dir: str) -> dict[str, str]:
    """Z85 public key -> node id, from the allow directory's `NODE.key` file names."""
    owners: dict[str, str] = {}
    for name in sorted(os.listdir(allow_dir)):
        if not name.endswith(".key"):
            continue
        try:
            public, _ = zmq.auth.load_certificate(os.path.join(allow_dir, name))
        except (OSError, ValueError):
            continue
        owners[public.decode()] = name[: -len(".key")]
    return owners
