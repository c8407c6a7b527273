"""Message validation: every malformed message is rejected with a reason, never an exception."""

from __future__ import annotations

import copy
import math
import random

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genome import GenomeSpec
from gossip.messages import (
    GOSSIP,
    JOIN,
    MIGRANTS,
    PING,
    PROTOCOL_VERSION,
    SHUFFLE,
    STATUS_REQUEST,
    TYPES,
    MessageError,
    decode_message,
    encode_message,
)
from gossip.migrant import Migrant, migrant_key, migrant_to_map

MAX = 4 * 1024 * 1024
SPEC = GenomeSpec("weights+rules", (4, 8, 2))
ADDR = "tcp://127.0.0.1:5555"


def migrant(fitness: float = 12.5, **kwargs) -> Migrant:
    fields = dict(
        origin="island-a",
        sender="island-a",
        spec=SPEC,
        x=np.linspace(-1, 1, SPEC.dim),
        claimed_fitness=fitness,
        generation=7,
        role="elite",
        env_id="CartPole-v1",
    )
    fields.update(kwargs)
    return Migrant(**fields)


def envelope(kind: str = MIGRANTS, body: dict | None = None) -> dict:
    if body is None:
        body = {"migrants": [migrant_to_map(migrant())]}
    return {"v": PROTOCOL_VERSION, "type": kind, "sender": "island-a", "addr": ADDR, "body": body}


def pack(obj: object) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def reason_of(payload: bytes) -> str:
    with pytest.raises(MessageError) as err:
        decode_message(payload, MAX)
    return err.value.reason


def test_valid_migrants_message_round_trips():
    sent = migrant()
    payload = encode_message(MIGRANTS, "island-a", ADDR, {"migrants": [migrant_to_map(sent)]})
    msg = decode_message(payload, MAX)
    assert (msg.type, msg.sender, msg.addr) == (MIGRANTS, "island-a", ADDR)
    (got,) = msg.body["migrants"]
    assert got.origin == "island-a" and got.sender == "island-a"
    assert got.spec == SPEC and got.spec.fingerprint == SPEC.fingerprint
    np.testing.assert_array_equal(got.x, sent.x)
    assert (got.claimed_fitness, got.generation, got.role, got.env_id) == (
        12.5,
        7,
        "elite",
        "CartPole-v1",
    )
    assert migrant_key(msg.body["wire"][0]) == migrant_key(migrant_to_map(sent))


def test_membership_and_status_messages_round_trip():
    peers = [["tcp://10.0.0.1:5555", "n1"], ["tcp://[::1]:5555", "n2"]]
    msg = decode_message(encode_message(SHUFFLE, "n1", ADDR, {"peers": peers}), MAX)
    assert msg.body == {"peers": peers}
    updates = [["suspect", "tcp://10.0.0.1:5555", "n1", 3],
               ["suspect", "tcp://10.0.0.2:5555", "n2", 0, "tcp://10.0.0.3:5555"]]  # accuser
    msg = decode_message(encode_message(PING, "n1", ADDR, {"nonce": "p1", "updates": updates}),
                         MAX)
    assert msg.body == {"nonce": "p1", "updates": [
        ("suspect", "tcp://10.0.0.1:5555", "n1", 3, ""),
        ("suspect", "tcp://10.0.0.2:5555", "n2", 0, "tcp://10.0.0.3:5555")]}
    join = {"neighbours": 0, "incarnation": 2**40, "replace": False}
    assert decode_message(encode_message(JOIN, "n1", ADDR, join), MAX).body == join
    msg = decode_message(encode_message(STATUS_REQUEST, "status-client", "", {"nonce": "ab"}), MAX)
    assert (msg.addr, msg.body) == ("", {"nonce": "ab"})


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "not_msgpack"),
        (b"\xc1", "not_msgpack"),  # a byte msgpack never uses
        (pack([1, 2, 3]), "not_a_map"),
        (pack({"v": 1}), "bad_version"),  # the v1 protocol trusted claimed addresses
        (pack({"v": True}), "bad_version"),
        (pack({"v": 1.0}), "bad_version"),
        (pack({**envelope(), "extra": 1}), "bad_envelope"),
        (pack({**envelope(), "type": "pickle"}), "unknown_type"),
        (pack({**envelope(), "type": 5}), "unknown_type"),
        (pack({**envelope(), "sender": ""}), "bad_field:sender"),
        (pack({**envelope(), "sender": "a b"}), "bad_field:sender"),
        (pack({**envelope(), "sender": "x" * 129}), "bad_field:sender"),
        (pack({**envelope(), "addr": "127.0.0.1:5555"}), "bad_field:addr"),  # not normalised
        (pack({**envelope(), "addr": "tcp://127.0.0.1:99999"}), "bad_field:addr"),
        (pack({**envelope(), "addr": 5}), "bad_field:addr"),
        (pack({**envelope(), "body": [1]}), "bad_field:body"),
        (pack(envelope(body={"migrants": []})), "bad_field:body.migrants"),
        (pack(envelope(body={"migrants": [1]})), "bad_field:body.migrants[0]"),
        (pack(envelope(body={"other": 1})), "bad_field:body"),
        (pack(envelope(SHUFFLE, {"peers": "tcp://a:1"})), "bad_field:body.peers"),
        (pack(envelope(SHUFFLE, {"peers": [["a:1", "n"]]})), "bad_field:body.peers[0]"),
        (pack(envelope(SHUFFLE, {"peers": [["tcp://a:1", "n"]] * 65})), "bad_field:body.peers"),
        (pack(envelope(GOSSIP, {"updates": [["gone", "tcp://a:1", "n", 1]]})),
         "bad_field:body.updates[0]"),
        (pack(envelope(GOSSIP, {"updates": [["dead", "tcp://a:1", "n", -1]]})),
         "bad_field:body.updates[0]"),
        (pack(envelope(GOSSIP, {"updates": [["dead", "tcp://a:1", "n", 2**60]]})),
         "bad_field:body.updates[0]"),
        (pack(envelope(GOSSIP, {"updates": [["dead", "tcp://a:1", "n", 1, "tcp://b:1"]]})),
         "bad_field:body.updates[0]"),  # only a suspicion names an accuser
        (pack(envelope(GOSSIP, {"updates": [["suspect", "tcp://a:1", "n", 1, "b:1"]]})),
         "bad_field:body.updates[0]"),
        (pack(envelope(GOSSIP, {"updates": [[]]})), "bad_field:body.updates[0]"),
        (pack(envelope(JOIN, {"neighbours": 0, "incarnation": 1, "replace": 1})),
         "bad_field:body.replace"),
        (pack(envelope(STATUS_REQUEST, {"nonce": ""})), "bad_field:body.nonce"),
    ],
)
def test_malformed_envelopes_are_rejected_with_a_reason(payload: bytes, reason: str):
    assert reason_of(payload) == reason


def bad_migrant(path: list, value: object) -> bytes:
    env = envelope()
    target = env["body"]["migrants"][0]
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return pack(env)


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (["fitness"], math.nan, "fitness"),
        (["fitness"], math.inf, "fitness"),
        (["fitness"], "12.5", "fitness"),
        (["fitness"], True, "fitness"),
        (["generation"], -1, "generation"),
        (["generation"], 1.5, "generation"),
        (["generation"], 2**64 - 1, "generation"),
        (["role"], "queen", "role"),
        (["role"], ["elite"], "role"),
        (["origin"], "", "origin"),
        (["origin"], 7, "origin"),
        (["env_id"], "e" * 500, "env_id"),
        (["env_id"], None, "env_id"),
        (["genome"], KeyError, ""),  # missing field
        (["genome"], b"\x00" * 8, "genome"),
        (["genome", "x"], b"\x00" * 8, "genome"),  # wrong vector length
        (["genome", "x"], np.full(SPEC.dim, np.nan).tobytes(), "genome"),
        (["genome", "fingerprint"], "0" * 16, "genome"),
        (["genome", "spec", "layer_sizes"], [4, 10**9, 2], "genome"),
        (["genome", "spec", "kind"], "telepathy", "genome"),
    ],
)
def test_each_bad_migrant_field_is_named(path: list, value: object, reason: str):
    expected = "bad_field:body.migrants[0]" + (f".{reason}" if reason else "")
    assert reason_of(bad_migrant(path, value)) == expected


def test_the_bad_migrant_is_named_by_index():
    env = envelope()
    second = migrant_to_map(migrant(generation=8))
    second["fitness"] = math.nan
    env["body"]["migrants"].append(second)
    assert reason_of(pack(env)) == "bad_field:body.migrants[1].fitness"


def test_random_bytes_are_rejected():
    rng = random.Random(7)
    for n in (1, 2, 10, 100, 10_000):
        payload = bytes(rng.randrange(256) for _ in range(n))
        assert reason_of(payload).split(":")[0] in {"not_msgpack", "not_a_map", "bad_version"}


def test_truncated_messages_are_rejected():
    payload = encode_message(MIGRANTS, "island-a", ADDR, {"migrants": [migrant_to_map(migrant())]})
    for cut in (1, 10, len(payload) // 2, len(payload) - 1):
        assert reason_of(payload[:cut]) == "not_msgpack"
    assert reason_of(payload + b"\x00") == "not_msgpack"  # trailing bytes


def test_deep_nesting_is_rejected_without_recursion_error():
    deep = b"\x91" * 5000 + b"\xc0"  # 5000 nested one-element arrays
    assert reason_of(deep) == "not_msgpack"
    nested: object = "x"
    for _ in range(100):
        nested = [nested]
    assert reason_of(pack(envelope(SHUFFLE, {"peers": nested}))) == "bad_field:body.peers[0]"


def test_oversize_messages_and_length_bombs_are_rejected():
    big = encode_message(SHUFFLE, "n1", ADDR, {"peers": []}) + b"\x00" * 100
    with pytest.raises(MessageError) as err:
        decode_message(big, max_bytes=50)
    assert err.value.reason == "too_large"
    # A header claiming a 4-billion-element array in a few bytes must not allocate it.
    assert reason_of(b"\xdd\xff\xff\xff\xff") == "not_msgpack"
    assert reason_of(b"\xdf\xff\xff\xff\xff") == "not_msgpack"
    assert reason_of(b"\xc6\xff\xff\xff\xff") == "not_msgpack"


def test_ext_types_and_timestamps_are_rejected():
    ts = msgpack.Timestamp(1, 0)
    assert reason_of(pack({**envelope(), "sender": ts})) == "not_msgpack"
    assert reason_of(pack(msgpack.ExtType(1, b"pickle"))) == "not_msgpack"


def test_rejections_keep_the_claimed_sender_when_it_was_valid():
    with pytest.raises(MessageError) as err:
        decode_message(bad_migrant(["fitness"], math.nan), MAX)
    assert err.value.sender == "island-a"


def test_migrant_to_map_refuses_what_peers_would_reject():
    with pytest.raises(ValueError, match="not finite"):
        migrant_to_map(migrant(fitness=math.nan))
    with pytest.raises(ValueError, match="does not match spec dim"):
        migrant_to_map(migrant(x=np.zeros(3)))
    with pytest.raises(ValueError, match="role"):
        migrant_to_map(migrant(role="queen"))


VALID = encode_message(MIGRANTS, "island-a", ADDR, {"migrants": [migrant_to_map(migrant())]})


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_messages_decode_or_reject_never_raise_otherwise(data):
    payload = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(payload) - 1))
        payload[i] = data.draw(st.integers(0, 255))
    try:
        msg = decode_message(bytes(payload), MAX)
    except MessageError as exc:
        assert exc.reason and " " not in exc.reason
        return
    # What survives mutation is still fully valid.
    for m in msg.body.get("migrants", []):
        assert np.all(np.isfinite(m.x)) and math.isfinite(m.claimed_fitness)
        assert m.x.shape == (m.spec.dim,)


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**64 - 1)
        | st.floats()
        | st.text()
        | st.binary(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=30,
    )
)
def test_arbitrary_msgpack_bodies_are_rejected_cleanly(body):
    for kind in sorted(TYPES):
        env = envelope(kind, {"x": body})
        with pytest.raises(MessageError):
            decode_message(pack(copy.deepcopy(env)), MAX)
