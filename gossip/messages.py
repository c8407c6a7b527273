"""Wire schema: msgpack maps `{v, type, sender, addr, body}`, validated field by field.

Everything that arrives is hostile until proven otherwise: decoding runs under
explicit msgpack limits (bounded by the message size, which the socket's
MAXMSGSIZE also caps), every exception is caught, and every field is checked
for type, size, shape and finiteness. A rejection raises MessageError whose
`reason` is a short machine-readable string (`not_msgpack`, `bad_version`,
`unknown_type`, `bad_field:body.migrants[0].fitness`, ...) the node counts.
Nothing is ever unpickled. Reasons never echo received text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

from gossip.address import AddressError, parse_address
from gossip.config import MAX_EXCHANGE, MAX_MIGRANTS_PER_MESSAGE, MAX_PEER_TABLE, MAX_UPDATES
from gossip.migrant import FieldError, is_node_id, migrant_from_map

PROTOCOL_VERSION = 2  # 2: SWIM probes, partial views, proven identities (DESIGN.md, Gossip)

# Requests: sent on the sender's own connection (a DEALER it dialled) to the receiver's ROUTER.
PING = "ping"  # SWIM probe; answered with `ack` on the same connection
PING_REQ = "ping_req"  # "probe `target` for me": answered with `ack` or `nack`
JOIN = "join"  # "take me into your active view" (HyParView NEIGHBOR / JOIN)
FORWARD_JOIN = "forward_join"  # a random walk that gives a newcomer far neighbours
DISCONNECT = "disconnect"  # "I dropped you from my active view"
SHUFFLE = "shuffle"  # passive-view exchange, answered with `shuffle_reply`
GOSSIP = "gossip"  # membership updates (alive / suspect / dead) for the epidemic
PROVE = "prove"  # "echo this nonce on your own connection to me": proves an address
ECHO = "echo"  # the nonce of a `prove`, sent from the address that was challenged
MIGRANTS = "migrants"
STATUS_REQUEST = "status_request"
# Replies: sent back on the connection the request came in on.
ACK = "ack"
NACK = "nack"
JOIN_REPLY = "join_reply"
SHUFFLE_REPLY = "shuffle_reply"
STATUS_REPLY = "status_reply"
REPLIES = frozenset({ACK, NACK, JOIN_REPLY, SHUFFLE_REPLY, STATUS_REPLY})
TYPES = frozenset({
    PING, PING_REQ, JOIN, FORWARD_JOIN, DISCONNECT, SHUFFLE, GOSSIP, PROVE, ECHO, MIGRANTS,
    STATUS_REQUEST,
}) | REPLIES
# A status client has no address of its own; nodes always send theirs.
ADDRESS_OPTIONAL = frozenset({STATUS_REQUEST, STATUS_REPLY})
# Membership update states, in the order SWIM lets one override another at equal incarnation.
ALIVE, SUSPECT, DEAD = "alive", "suspect", "dead"
UPDATE_STATES = (ALIVE, SUSPECT, DEAD)
MAX_WALK = 16  # longest forward-join random walk accepted
MAX_INCARNATION = 2**53  # a refutation adds one: stays exact in every msgpack reader

ENVELOPE_KEYS = frozenset({"v", "type", "sender", "addr", "body"})
MAX_NONCE_CHARS = 64
MAX_STR_BYTES = 64 * 1024
MAX_ARRAY_LEN = MAX_PEER_TABLE
MAX_MAP_LEN = 1024


class MessageError(ValueError):
    """A message that was dropped; `reason` is what the drop is counted under.

    `sender` is the claimed sender id when the envelope got far enough to hold a
    valid one (for the log only: it is not authenticated).
    """

    def __init__(self, reason: str, sender: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sender = sender


@dataclass(frozen=True)
class Message:
    """A validated message.

    For `migrants` the body is `{"migrants": [Migrant, ...], "wire": [map, ...]}`:
    the checked wire maps are kept so a relay can send them on as they came.
    """

    type: str
    sender: str
    addr: str
    body: dict[str, Any]


def encode_message(kind: str, sender: str, addr: str, body: dict[str, Any]) -> bytes:
    """Bytes of one message; `body` must already be plain maps, lists, numbers and text."""
    envelope = {"v": PROTOCOL_VERSION, "type": kind, "sender": sender, "addr": addr, "body": body}
    return msgpack.packb(envelope, use_bin_type=True)


def decode_message(payload: bytes, max_bytes: int) -> Message:
    """Decode and validate one message, or raise MessageError with the reason."""
    if len(payload) > max_bytes:
        raise MessageError("too_large")
    try:
        obj = msgpack.unpackb(
            payload,
            raw=False,
            use_list=True,
            strict_map_key=True,
            max_str_len=MAX_STR_BYTES,
            max_bin_len=max_bytes,
            max_array_len=MAX_ARRAY_LEN,
            max_map_len=MAX_MAP_LEN,
            max_ext_len=0,
        )
    except Exception:  # ExtraData, StackError, UnicodeDecodeError, ValueError, ...: all hostile
        raise MessageError("not_msgpack") from None
    if not isinstance(obj, dict):
        raise MessageError("not_a_map")
    if type(obj.get("v")) is not int or obj["v"] != PROTOCOL_VERSION:
        raise MessageError("bad_version")
    if set(obj) != ENVELOPE_KEYS:
        raise MessageError("bad_envelope")
    kind = obj["type"]
    if not isinstance(kind, str) or kind not in TYPES:
        raise MessageError("unknown_type")
    sender = obj["sender"]
    if not is_node_id(sender):
        raise MessageError("bad_field:sender")
    try:
        addr = _envelope_address(obj["addr"], optional=kind in ADDRESS_OPTIONAL)
        body = obj["body"]
        if not isinstance(body, dict):
            raise MessageError("bad_field:body")
        checked = _BODY_CHECKS[kind](body, sender)
    except FieldError as exc:
        path = "bad_field:body" + (f".{exc.path}" if exc.path else "")
        raise MessageError(path, sender) from None
    except MessageError as exc:
        raise MessageError(exc.reason, sender) from None
    return Message(kind, sender, addr, checked)


def _envelope_address(value: Any, optional: bool) -> str:
    if optional and value == "":
        return ""
    if not isinstance(value, str):
        raise MessageError("bad_field:addr")
    try:
        normal = parse_address(value)
    except AddressError:
        raise MessageError("bad_field:addr") from None
    if normal != value:  # nodes send normalised addresses; anything else is not ours
        raise MessageError("bad_field:addr")
    return normal


def _address(value: Any, path: str) -> str:
    """A normalised peer address, as nodes send them."""
    if not isinstance(value, str):
        raise FieldError(path)
    try:
        if parse_address(value) != value:
            raise FieldError(path)
    except AddressError:
        raise FieldError(path) from None
    return value


def _peer(item: Any, path: str) -> list[str]:
    """A `[address, node id]` pair as sent in samples and join replies."""
    if not isinstance(item, list) or len(item) != 2:
        raise FieldError(path)
    address, node_id = item
    if not is_node_id(node_id):
        raise FieldError(path)
    return [_address(address, path), node_id]


def _peers(value: Any, name: str) -> list[list[str]]:
    if not isinstance(value, list) or len(value) > MAX_EXCHANGE:
        raise FieldError(name)
    peers = [_peer(item, f"{name}[{i}]") for i, item in enumerate(value)]
    return list({p[0]: p for p in peers}.values())


def _update(item: Any, path: str) -> tuple[str, str, str, int, str]:
    """`[state, address, node id, incarnation]`: one SWIM membership update; a suspicion
    may add the address of its accuser (Lifeguard counts independent accusers)."""
    if not isinstance(item, list) or not item or item[0] not in UPDATE_STATES:
        raise FieldError(path)
    if len(item) != 4 and not (len(item) == 5 and item[0] == SUSPECT):
        raise FieldError(path)
    address, node_id = _peer(item[1:3], path)
    incarnation = item[3]
    if type(incarnation) is not int or not 0 <= incarnation <= MAX_INCARNATION:
        raise FieldError(path)
    accuser = _address(item[4], path) if len(item) == 5 else ""
    return (item[0], address, node_id, incarnation, accuser)


def _updates(value: Any) -> list[tuple[str, str, str, int, str]]:
    if not isinstance(value, list) or len(value) > MAX_UPDATES:
        raise FieldError("updates")
    return [_update(item, f"updates[{i}]") for i, item in enumerate(value)]


def _probe_body(body: dict[str, Any], sender: str) -> dict[str, Any]:
    """ping / ack: a nonce and piggybacked updates."""
    _keys(body, {"nonce", "updates"})
    _nonce(body["nonce"])
    return {"nonce": body["nonce"], "updates": _updates(body["updates"])}


def _ping_req_body(body: dict[str, Any], sender: str) -> dict[str, Any]:
    _keys(body, {"nonce", "target"})
    _nonce(body["nonce"])
    return {"nonce": body["nonce"], "target": _peer(body["target"], "target")}


def _nonce_body(body: dict[str, Any], sender: str) -> dict[str, Any]:
    """nack / prove / echo."""
    _keys(body, {"nonce"})
    _nonce(body["nonce"])
    return body


def _incarnation(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= MAX_INCARNATION:
        raise FieldError("incarnation")
    return value


def _join_body(body: dict[str, Any], sender: str) -> dict[str, Any]:
    _keys(body, {"neighbours", "incarnation", "replace"})
    neighbours = body["neighbours"]
    if type(neighbours) is not int or not 0 <= neighbours <= MAX_EXCHANGE:
        raise FieldError("neighbours")
    if not isinstance(body["replace"], bool):
        raise FieldError("replace")
    return {"neighbours": neighbours, "incarnation": _incarnation(body["incarnation"]),
            "replace": body["replace"]}


def _join_reply_body(body: dict[str, Any], sender: str) -> dict[str, Any]:
    _keys(body, {"accepted", "peers", "incarnation"})
    if not isinstance(body["accepted"], bool):
        raise FieldError("accepted")
    return {"accepted": body["accepted"], "peers": _peers(body["peers"], "peers"),
            "incarnation": _incarnation(body["incarnation"])}


def _forward_join_body(body: dict[str, Any], sender: str) -> dict[str, Any]:
    _keys(body, {"peer", "ttl"})
    ttl = body["ttl"]
    if type(ttl) is not int or not 0 <= ttl <= MAX_WALK:
        raise FieldError("ttl")
    return {"peer": _peer(body["peer"], "peer"), "ttl": ttl}


def _disconnect_body(body: dict[str, Any], sender: str) -> dict[str, Any]:
    """`instead`: the peer that took the receiver's place (join it), or an empty list."""
    _keys(body, {"instead"})
    instead = body["instead"]
    return {"instead": _peer(instead, "instead") if instead != [] else []}


def _shuffle_body(body: dict[str, Any], sender: str) -> dict[str, Any]:
    _keys(body, {"peers"})
    return {"peers": _peers(body["peers"], "peers")}


def _gossip_body(body: dict[str, Any], sender: str) -> dict[str, Any]:
    _keys(body, {"updates"})
    return {"updates": _updates(body["updates"])}


def _migrants_body(body: dict[str, Any], sender: str) -> dict[str, Any]:
    _keys(body, {"migrants"})
    items = body["migrants"]
    if not isinstance(items, list) or not 0 < len(items) <= MAX_MIGRANTS_PER_MESSAGE:
        raise FieldError("migrants")
    migrants = [migrant_from_map(m, sender, f"migrants[{i}]") for i, m in enumerate(items)]
    # keep the checked wire maps too: relaying re-sends them without re-encoding genomes
    return {"migrants": migrants, "wire": items}


def _status_request_body(body: dict[str, Any], sender: str) -> dict[str, Any]:
    _keys(body, {"nonce"})
    _nonce(body["nonce"])
    return body


def _status_reply_body(body: dict[str, Any], sender: str) -> dict[str, Any]:
    _keys(body, {"nonce", "node", "address", "peers", "counters", "status"})
    _nonce(body["nonce"])
    if not is_node_id(body["node"]):
        raise FieldError("node")
    if not isinstance(body["address"], str):
        raise FieldError("address")
    peers = body["peers"]
    if not isinstance(peers, list) or not all(isinstance(p, str) for p in peers):
        raise FieldError("peers")
    counters = body["counters"]
    if not isinstance(counters, dict):
        raise FieldError("counters")
    for value in counters.values():
        if not isinstance(value, int) or isinstance(value, bool):
            raise FieldError("counters")
    if not isinstance(body["status"], dict):
        raise FieldError("status")
    return body


def _keys(body: dict[str, Any], expected: set[str]) -> None:
    if set(body) != expected:
        raise FieldError("")


def _nonce(value: Any) -> None:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NONCE_CHARS:
        raise FieldError("nonce")


_BODY_CHECKS = {
    PING: _probe_body,
    ACK: _probe_body,
    PING_REQ: _ping_req_body,
    NACK: _nonce_body,
    PROVE: _nonce_body,
    ECHO: _nonce_body,
    JOIN: _join_body,
    JOIN_REPLY: _join_reply_body,
    FORWARD_JOIN: _forward_join_body,
    DISCONNECT: _disconnect_body,
    SHUFFLE: _shuffle_body,
    SHUFFLE_REPLY: _shuffle_body,
    GOSSIP: _gossip_body,
    MIGRANTS: _migrants_body,
    STATUS_REQUEST: _status_request_body,
    STATUS_REPLY: _status_reply_body,
}
