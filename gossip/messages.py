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
from gossip.config import MAX_EXCHANGE, MAX_MIGRANTS_PER_MESSAGE, MAX_PEER_TABLE
from gossip.migrant import FieldError, is_node_id, migrant_from_map

PROTOCOL_VERSION = 1

HELLO = "hello"  # first contact or probe: answered with a heartbeat
HEARTBEAT = "heartbeat"
MIGRANTS = "migrants"
STATUS_REQUEST = "status_request"
STATUS_REPLY = "status_reply"
TYPES = frozenset({HELLO, HEARTBEAT, MIGRANTS, STATUS_REQUEST, STATUS_REPLY})
# A status client has no address of its own; nodes always send theirs.
ADDRESS_OPTIONAL = frozenset({STATUS_REQUEST, STATUS_REPLY})

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


def _membership_body(body: dict[str, Any], sender: str) -> dict[str, Any]:
    _keys(body, {"peers"})
    peers = body["peers"]
    if not isinstance(peers, list) or len(peers) > MAX_EXCHANGE:
        raise FieldError("peers")
    for i, address in enumerate(peers):
        if not isinstance(address, str):
            raise FieldError(f"peers[{i}]")
        try:
            if parse_address(address) != address:
                raise FieldError(f"peers[{i}]")
        except AddressError:
            raise FieldError(f"peers[{i}]") from None
    return {"peers": list(dict.fromkeys(peers))}


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
    HELLO: _membership_body,
    HEARTBEAT: _membership_body,
    MIGRANTS: _migrants_body,
    STATUS_REQUEST: _status_request_body,
    STATUS_REPLY: _status_reply_body,
}
