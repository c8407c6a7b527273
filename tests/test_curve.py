"""CurveZMQ: nodes whose keys are allowed exchange migrants; a stranger's key gets nothing in."""

from __future__ import annotations

import shutil
import subprocess
import time

import msgspec
import numpy as np
import pytest
import zmq
import zmq.auth

from genome import GenomeSpec, initial_vector
from gossip import Gossip, GossipConfig, Migrant
from gossip.events import GossipEvent, InternalError
from gossip.messages import MIGRANTS, encode_message
from gossip.migrant import migrant_to_map
from island.record import AnyEvent, StatusReply, read_events
from tests.conftest import node_address, run_cli, script

SPEC = GenomeSpec("weights+rules", (4, 16, 16, 2))  # what island-node evolves on CartPole


def _keygen(keys, name):
    done = run_cli("island-keygen", str(keys), "--name", name, timeout=30)
    assert done.returncode == 0, done.stderr
    public, _ = zmq.auth.load_certificate(keys / f"{name}.key")
    return public.decode()


def _node(run, name, keys, allow, *extra):
    return subprocess.Popen(
        [script("island-node"), "--bind", "tcp://127.0.0.1:0", "--run-dir", str(run),
         "--node-id", name, "--workers", "1", "--popsize", "8", "--episodes", "1",
         "--quiet", "--final-episodes", "0", "--max-time", "150", "--target", "none",
         "--interval", "2",
         "--heartbeat-interval", "0.2", "--dead-after", "1.5",
         "--curve-secret", str(keys / f"{name}.key_secret"), "--curve-allow", str(allow), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def _events(run, name) -> list[AnyEvent]:
    return [e for e in read_events(run / "events.jsonl") if e.event == name]


def _stranger_socket(context, address, server_key, keys):
    """A raw CURVE client with C's key that queues real migrant messages (no IMMEDIATE)."""
    public, secret = zmq.auth.load_certificate(keys / "C.key_secret")
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.CURVE_SERVERKEY, server_key.encode())
    sock.setsockopt(zmq.CURVE_PUBLICKEY, public)
    sock.setsockopt(zmq.CURVE_SECRETKEY, secret)
    sock.connect(address)
    return sock


def test_only_allowed_keys_get_migrants_in(tmp_path):
    keys, allow, strangers = tmp_path / "keys", tmp_path / "allow", tmp_path / "c-allow"
    key = {name: _keygen(keys, name) for name in ("A", "B", "C")}
    allow.mkdir()
    strangers.mkdir()
    for name in ("A", "B"):  # C's key is in no allow list of A or B
        shutil.copy(keys / f"{name}.key", allow)
    shutil.copy(keys / "A.key", strangers)  # C's own server allows A (C's choice, not A's)

    run_a, run_b = tmp_path / "A", tmp_path / "B"
    procs = [_node(run_a, "A", keys, allow)]
    context = zmq.Context()
    stranger = raw = None
    try:
        address_a = node_address(run_a, procs[0])
        # B knows A's key from its peers file; A finds B's in allow/B.key once B says hello.
        (tmp_path / "b.peers").write_text(f"{address_a} {key['A']}\n")
        procs.append(_node(run_b, "B", keys, allow, "--peers", str(tmp_path / "b.peers")))
        node_address(run_b, procs[1])

        (tmp_path / "c.peers").write_text(f"{address_a} {key['A']}\n")
        stranger = Gossip(GossipConfig(
            bind="tcp://127.0.0.1:0", peers=str(tmp_path / "c.peers"), fanout=2,
            heartbeat_interval=0.2, dead_after=1.5, curve_secret=str(keys / "C.key_secret"),
            curve_allow=str(strangers)), "C")
        stranger.start()
        raw = _stranger_socket(context, address_a, key["A"], keys)

        rng = np.random.default_rng(1)
        deadline = time.monotonic() + 120
        generation = 0
        while time.monotonic() < deadline:
            generation += 1
            wave = [Migrant("C", "C", SPEC, initial_vector(SPEC) + 0.01 * rng.standard_normal(
                SPEC.dim), 500.0, generation, "elite", "CartPole-v1") for _ in range(2)]
            stranger.emit(wave)
            with pytest.raises(zmq.Again):  # queued until a handshake succeeds: it never does
                for _ in range(2000):
                    raw.send(encode_message(MIGRANTS, "C", stranger.address,
                                            {"migrants": [migrant_to_map(m) for m in wave]}),
                             zmq.NOBLOCK)
            a_from_b = [e for e in _events(run_a, "migrant_injected") if e.origin == "B"]
            b_from_a = [e for e in _events(run_b, "migrant_injected") if e.origin == "A"]
            refused = _events(run_a, "curve_rejected")
            if a_from_b and b_from_a and refused:
                break
            time.sleep(0.3)
        else:
            pytest.fail("allowed nodes did not exchange migrants, or no refusal was logged")
        stranger_counters = stranger.counters()
        # Status: an allowed key pair gets an answer; a stranger's, or none, gets nothing.
        status = [("B", "--server-key", str(keys / "A.key")), ("C", f"--server-key={key['A']}")]
        answers = {who: run_cli("island-node", "status", address_a, "--timeout", "3",
                                "--curve-secret", str(keys / f"{who}.key_secret"), *flags)
                   for who, *flags in status}
        plain = run_cli("island-node", "status", address_a, "--timeout", "2")
    finally:
        if raw is not None:
            raw.close(linger=0)
        context.term()
        if stranger is not None:
            stranger.close()
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
    for proc in procs:
        assert proc.returncode == 0, proc.stderr.read()

    for run in (run_a, run_b):
        events = read_events(run / "events.jsonl")
        # any kind that names a node (migrants, arrivals, rejections) names no C
        assert not [e for e in events
                    if "C" in (getattr(e, "origin", None), getattr(e, "sender", None))]
        assert not [e for e in events if isinstance(e, InternalError)]
    received_a = [e for e in _events(run_a, "migrant_received") if e.origin == "B"]
    assert received_a and all(e.sender_key == key["B"] for e in received_a)
    # The stranger's key fails authentication; the plain status client speaks no CURVE
    # (reported by libzmq as a protocol error or a handshake failure without detail).
    reasons = {e.reason for e in _events(run_a, "curve_rejected")}
    assert "auth" in reasons and reasons - {"auth"} <= {"protocol", "handshake"}
    assert stranger_counters.get("migrants_received", 0) == 0
    assert answers["B"].returncode == 0, answers["B"].stderr
    assert msgspec.json.decode(answers["B"].stdout, type=StatusReply).node == "A"
    assert answers["C"].returncode == 1 and "no status reply" in answers["C"].stderr
    assert plain.returncode == 1 and "--curve-secret" in plain.stderr
    print(f"\ncurve: A injected {len(a_from_b)} from B, B injected {len(b_from_a)} from A; "
          f"A refused {len(_events(run_a, 'curve_rejected'))} handshakes; "
          f"stranger: {stranger_counters.get('migrants_emitted', 0)} emitted, 0 got in")


def test_curve_settings_need_both_files(tmp_path):
    _keygen(tmp_path, "A")
    secret = str(tmp_path / "A.key_secret")
    with pytest.raises(ValueError, match="set both"):
        GossipConfig(curve_secret=secret).validate()
    with pytest.raises(ValueError, match="curve_secret: no such file"):
        GossipConfig(curve_secret=secret + "x", curve_allow=str(tmp_path)).validate()
    with pytest.raises(ValueError, match="curve_allow: no such directory"):
        GossipConfig(curve_secret=secret, curve_allow=str(tmp_path / "none")).validate()
    GossipConfig(curve_secret=secret, curve_allow=str(tmp_path)).validate()
    public = Gossip(GossipConfig(bind="tcp://127.0.0.1:0", curve_secret=str(tmp_path / "A.key"),
                                 curve_allow=str(tmp_path)), "A")
    with pytest.raises(ValueError, match="holds no secret key"):
        public.start()
    public.close()


def test_a_peer_learned_by_gossip_without_a_key_is_counted_and_never_dialled(tmp_path):
    """A learns C through B but holds no key for C: no plain-text fallback, one counted event."""
    keys = tmp_path / "keys"
    keys.mkdir()
    for name in "ABC":
        zmq.auth.create_certificates(str(keys), name)
    trust = {"A": "B", "B": "AC", "C": "B"}  # A and C each trust only B
    allow = {}
    for name, trusted in trust.items():
        allow[name] = tmp_path / f"allow-{name}"
        allow[name].mkdir()
        for other in trusted:
            shutil.copy(keys / f"{other}.key", allow[name])

    def gossip(name, peers=None):
        node = Gossip(GossipConfig(
            bind="tcp://127.0.0.1:0", peers=peers, heartbeat_interval=0.2, dead_after=1.5,
            curve_secret=str(keys / f"{name}.key_secret"), curve_allow=str(allow[name])), name)
        node.start()
        return node

    nodes = [b := gossip("B")]
    try:
        public_b = zmq.auth.load_certificate(keys / "B.key")[0].decode()
        peers = tmp_path / "peers.txt"
        peers.write_text(f"{b.address} {public_b}\n")
        nodes += [a := gossip("A", str(peers)), c := gossip("C", str(peers))]
        events: list[GossipEvent] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            events += a.events()
            if any(e.event == "peer_without_key" for e in events):
                break
            time.sleep(0.1)
        time.sleep(1.0)  # a few more rounds: still no connection to C
        events += a.events()
        counters = a.counters()
    finally:
        for node in nodes:
            node.close()
    keyless = [e for e in events if e.event == "peer_without_key"]
    assert keyless and {e.peer for e in keyless} == {c.address}
    assert counters["peers_without_key"] >= 1
    assert not [e for e in events if e.event == "curve_rejected"]
