"""A flood of malformed messages is counted and dropped; the node keeps evolving."""

from __future__ import annotations

import subprocess
import time
from collections import Counter

import msgpack
import msgspec
import numpy as np
import zmq

from genome import GenomeSpec, initial_vector
from gossip import Migrant, query_status
from gossip.mailbox import Counters
from gossip.messages import (
    GOSSIP,
    JOIN,
    MIGRANTS,
    STATUS_REQUEST,
    MessageError,
    decode_message,
    encode_message,
)
from gossip.migrant import migrant_to_map
from island.record import StatusReply, read_generations
from tests.conftest import node_address, run_cli, script

MAX_BYTES = 64 * 1024  # the node's --max-message-bytes: oversized frames stay cheap to send
FLOOD = 110_000  # malformed single- and multi-frame messages on one connection
OVERSIZED = 20  # each on its own connection, which the node's socket cuts
SENDER = "fuzzer"
ADDR = "tcp://127.0.0.1:9"
RSS_LIMIT_KIB = 1024 * 1024


def _start_node(run):
    return subprocess.Popen(
        [script("island-node"), "--bind", "tcp://127.0.0.1:0", "--run-dir", str(run),
         "--node-id", "victim", "--workers", "1", "--popsize", "8", "--episodes", "1",
         "--quiet", "--final-episodes", "0", "--max-time", "150", "--target", "none",
         "--max-message-bytes", str(MAX_BYTES),
         "--sender-rate", "1e9"],  # validation is under test here, not the sender budget
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def _generation(run):
    log = read_generations(run / "log.jsonl")
    return log[-1].generation if log else -1


class Forger:
    """Malformed messages of many kinds, mostly mutations of valid ones (seeded)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        small = GenomeSpec("weights", (2, 2))
        cartpole = GenomeSpec("weights+rules", (4, 16, 16, 2))
        self.wires = [
            migrant_to_map(Migrant(SENDER, SENDER, spec, initial_vector(spec), 1.0, 3,
                                   "elite", "CartPole-v1"))
            for spec in (small, cartpole)
        ]
        self.valid = [
            encode_message(JOIN, SENDER, ADDR, {"neighbours": 0, "incarnation": 1,
                                                "replace": False}),
            encode_message(GOSSIP, SENDER, ADDR, {"updates": [["alive", ADDR, SENDER, 1]]}),
            encode_message(STATUS_REQUEST, SENDER, "", {"nonce": "abc"}),
            encode_message(MIGRANTS, SENDER, ADDR, {"migrants": [self.wires[0]]}),
        ]
        self.kinds = [
            self.random_bytes, self.truncated, self.flipped, self.wrong_types,
            self.unknown_type, self.deep_nesting, self.huge_header, self.wrong_length_genome,
            self.non_finite, self.multi_frame,
        ]

    def __call__(self) -> tuple[str, list[bytes]]:
        kind = self.kinds[self.rng.integers(len(self.kinds))]
        return kind.__name__, kind()

    def _bytes(self, n: int) -> bytes:
        return self.rng.integers(0, 256, n, dtype=np.uint8).tobytes()

    def _valid(self) -> bytes:
        return self.valid[self.rng.integers(len(self.valid))]

    def random_bytes(self):
        return [self._bytes(int(self.rng.integers(0, 512)))]

    def truncated(self):
        payload = self._valid()
        return [payload[: int(self.rng.integers(0, len(payload)))]]

    def flipped(self):
        payload = bytearray(self._valid())
        for i in self.rng.integers(0, len(payload), int(self.rng.integers(1, 9))):
            payload[i] = int(self.rng.integers(0, 256))
        return [bytes(payload)]

    def wrong_types(self):
        junk = [None, True, -1, 2**64 - 1, 1.5, float("nan"), "", "x" * 300, b"\x00" * 9,
                [], [1, 2], {}, {"a": 1}]
        envelope = msgpack.unpackb(self._valid(), raw=False)
        for key in self.rng.choice(sorted(envelope), int(self.rng.integers(1, 3)), replace=False):
            envelope[key] = junk[self.rng.integers(len(junk))]
        return [msgpack.packb(envelope, use_bin_type=True)]

    def unknown_type(self):
        kind = ["", "HELLO", "migrant", "status", "x" * 1000, "hello\x00"][self.rng.integers(6)]
        return [encode_message(kind, SENDER, ADDR, {"peers": []})]

    def deep_nesting(self):
        depth = int(self.rng.integers(100, 5000))
        opener = [b"\x91", b"\x81\xa1k"][self.rng.integers(2)]  # [[[...]]] or {"k": {"k": ...}}
        inner = opener * depth + b"\xc0"
        if self.rng.random() < 0.5:
            return [inner]
        return [encode_message(MIGRANTS, SENDER, ADDR, {"migrants": b"@@"}).replace(
            b"\xc4\x02@@", inner)]

    def huge_header(self):
        # array32, map32, str32, bin32 claiming ~4 billion elements or bytes, with little after
        header = [b"\xdd", b"\xdf", b"\xdb", b"\xc6"][self.rng.integers(4)] + b"\xff\xff\xff\xf0"
        tail = self._bytes(int(self.rng.integers(0, 64)))
        if self.rng.random() < 0.5:
            return [header + tail]
        return [encode_message(MIGRANTS, SENDER, ADDR, {"migrants": b"@@"}).replace(
            b"\xc4\x02@@", header + tail)]

    def wrong_length_genome(self):
        wire = dict(self.wires[self.rng.integers(2)])
        genome = dict(wire["genome"])
        cut = int(self.rng.integers(1, 64))
        genome["x"] = genome["x"][:-cut] if self.rng.random() < 0.5 else genome["x"] + b"\0" * cut
        wire["genome"] = genome
        return [encode_message(MIGRANTS, SENDER, ADDR, {"migrants": [wire]})]

    def non_finite(self):
        wire = dict(self.wires[0])
        bad = [float("nan"), float("inf"), -float("inf")][self.rng.integers(3)]
        if self.rng.random() < 0.5:
            wire["fitness"] = bad
        else:
            genome = dict(wire["genome"])
            x = np.frombuffer(genome["x"], dtype="<f8").copy()
            x[self.rng.integers(len(x))] = bad
            genome["x"] = x.tobytes()
            wire["genome"] = genome
        return [encode_message(MIGRANTS, SENDER, ADDR, {"migrants": [wire] * 2})]

    def multi_frame(self):
        frames = [self._valid()] + [self._bytes(int(self.rng.integers(0, 64)))
                                    for _ in range(int(self.rng.integers(1, 5)))]
        self.rng.shuffle(frames)
        return frames


def _expected_reason(frames: list[bytes]) -> str | None:
    """The reason the node must count, by the same validation; None if the forgery is valid."""
    if len(frames) != 1:
        return "bad_frames"
    try:
        decode_message(frames[0], MAX_BYTES)
    except MessageError as exc:
        return exc.reason
    return None


def _send_oversized(address: str, size: int) -> bool:
    """Send one frame over the node's MAXMSGSIZE; True if the node cut the connection."""
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    try:
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(address)
        sock.send(b"\x92" + b"\0" * size)
        return bool(monitor.poll(10_000))
    finally:
        sock.disable_monitor()
        monitor.close(linger=0)
        sock.close(linger=0)
        context.term()


def test_flood_of_malformed_messages_is_counted_and_survived(tmp_path):
    run = tmp_path / "victim"
    proc = _start_node(run)
    context = zmq.Context()
    sock = None
    try:
        address = node_address(run, proc)
        before = query_status(address, timeout=10)["counters"]

        # Oversized frames: refused by the socket (MAXMSGSIZE), which disconnects the sender.
        cut = sum(_send_oversized(address, MAX_BYTES + 1 + 1000 * i) for i in range(OVERSIZED))
        after_oversized = query_status(address, timeout=10)["counters"]

        forger = Forger(seed=20240611)
        expected = Counters()
        kinds: Counter[str] = Counter()
        still_valid = 0
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 10_000)
        sock.setsockopt(zmq.SNDTIMEO, 30_000)  # a wedged node fails the test instead of hanging
        sock.connect(address)
        started = time.monotonic()
        sent = 0
        while sent < FLOOD:
            kind, frames = forger()
            reason = _expected_reason(frames)
            if reason is None:  # a mutation that is still a valid message: not part of the flood
                still_valid += 1
                continue
            sock.send_multipart(frames)
            expected.reject(reason)
            kinds[kind] += 1
            sent += 1
        send_s = time.monotonic() - started

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            counters = query_status(address, timeout=10)["counters"]
            if counters.get("messages_rejected", 0) - before.get("messages_rejected", 0) >= sent:
                break
            time.sleep(0.2)
        drain_s = time.monotonic() - started
        assert proc.poll() is None, proc.stderr.read()

        generation = _generation(run)
        deadline = time.monotonic() + 60
        while _generation(run) <= generation and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.2)
        assert _generation(run) > generation, "the node stopped evolving after the flood"

        status = run_cli("island-node", "status", address, "--timeout", "10", timeout=30)
        assert status.returncode == 0, status.stderr
        final = msgspec.json.decode(status.stdout, type=StatusReply).counters
        with open(f"/proc/{proc.pid}/status") as handle:
            rss_kib = next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
    finally:
        if sock is not None:
            sock.close(linger=0)
        context.term()
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read()

    def delta(name, since=before):
        return final.get(name, 0) - since.get(name, 0)

    rejected = {k[len("rejected."):]: delta(k) for k in final if k.startswith("rejected.")}
    rejected = {k: v for k, v in rejected.items() if v}
    wanted = {k[len("rejected."):]: v for k, v in expected.snapshot().items()
              if k.startswith("rejected.")}
    print(f"\nhostile input: {sent} malformed messages sent in {send_s:.1f} s "
          f"(all handled {drain_s:.1f} s after the first), by kind {dict(sorted(kinds.items()))}; "
          f"{still_valid} mutations were still valid and not sent")
    print(f"rejected by the node: {delta('messages_rejected')}, by reason:")
    for reason, n in sorted(rejected.items(), key=lambda kv: -kv[1]):
        print(f"  {n:7d}  {reason}")
    print(f"oversized frames: {OVERSIZED} sent on their own connections, {cut} cut by the "
          f"socket (MAXMSGSIZE), received by the node: "
          f"{after_oversized['messages_received'] - before['messages_received'] - 1}")
    print(f"internal errors: {final.get('internal_error', 0)}, node RSS after the flood: "
          f"{rss_kib / 1024:.0f} MiB")

    assert delta("messages_rejected") == sent
    assert rejected == wanted  # every message counted under the reason its defect predicts
    assert final.get("internal_error", 0) == 0
    # the oversized frames never reached the node's code: only the status request did
    assert after_oversized["messages_received"] - before["messages_received"] == 1
    assert after_oversized.get("messages_rejected", 0) == before.get("messages_rejected", 0)
    assert cut == OVERSIZED
    assert rss_kib < RSS_LIMIT_KIB
