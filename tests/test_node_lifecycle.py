"""A node's life as a user meets it: signals, a locked run directory, unusable checkpoints,
one-line mistakes. Real island-node processes, real signals, real files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from island.checkpoint import CURRENT, PREVIOUS, read_checkpoint
from island.record import (
    CONFIRMATION_EVENTS,
    NodeStarted,
    Stopped,
    of_kind,
    read_events,
    read_generations,
)
from island.shutdown import Shutdown
from tests.conftest import children, generations, group, run_cli, script, wait_for

FAST = ["--workers", "1", "--popsize", "8", "--episodes", "1", "--quiet", "--final-episodes",
        "0", "--checkpoint-every", "50", "--max-time", "120", "--target", "none"]


def start_node(run_dir: Path, *extra: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([script("island-node"), "--run-dir", str(run_dir), *FAST, *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            **popen)


def test_sigterm_to_the_whole_process_group_always_ends_cleanly_with_a_checkpoint(tmp_path,
                                                                                   procs):
    """As scancel or a control-group kill do: every process of the node gets SIGTERM, in
    the middle of a generation (LunarLander's long episodes keep the workers busy); then
    a signal to one worker alone, then SIGINT to the group, as Ctrl-C sends it."""
    run = tmp_path / "run"
    plan = [("group", signal.SIGTERM), ("worker", signal.SIGTERM), ("group", signal.SIGINT)]
    for trial, (target, sig) in enumerate(plan):
        seen = len(generations(run))
        procs.append(node := start_node(run, "--env", "LunarLander-v3", "--workers", "2",
                                        start_new_session=True))
        wait_for(lambda n=seen: len(generations(run)) > n, f"trial {trial}: a generation",
                 timeout=90)
        if target == "group":
            os.killpg(node.pid, sig)
        else:
            os.kill(children(node.pid)[0], sig)
        assert node.wait(timeout=30) == 0, node.stderr.read()
        wait_for(lambda n=node: not group(n.pid), "nothing of the node left in its group",
                 timeout=5)
        assert "Traceback" not in node.stderr.read()
        checkpoint = read_checkpoint(run / CURRENT)
        logged = generations(run)
        assert checkpoint["island"]["generation"] == logged[-1]
        assert logged == list(range(1, len(logged) + 1))  # resumed, never repeated
    stops = [e.reason for e in of_kind(read_events(run / "events.jsonl"), Stopped)]
    assert stops == ["signal SIGTERM", "signal SIGTERM", "signal SIGINT"]


def test_a_second_node_on_a_locked_run_directory_is_refused_and_changes_nothing(tmp_path,
                                                                                procs):
    run = tmp_path / "run"
    procs.append(first := start_node(run))
    wait_for(lambda: generations(run), "the first node's first generation", timeout=90)
    before = {name: (run / name).read_bytes() for name in ("config.toml", "node.lock")}
    events_before = read_events(run / "events.jsonl")

    second = run_cli("island-node", "--run-dir", str(run), *FAST, timeout=60)
    assert second.returncode == 2
    assert second.stderr.count("\n") == 1, second.stderr
    assert f"in use by pid {first.pid}" in second.stderr
    assert {name: (run / name).read_bytes() for name in before} == before
    events = read_events(run / "events.jsonl")
    assert events[: len(events_before)] == events_before
    own = {"champion", "champion_round", "end_game", "restart", *CONFIRMATION_EVENTS}
    assert {e.event for e in events[len(events_before):]} <= own  # the first's own
    assert first.poll() is None  # the first node runs on
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0


def test_both_checkpoints_corrupt_stops_with_a_message_and_fresh_moves_them_aside(tmp_path,
                                                                                  procs):
    run = tmp_path / "run"
    done = run_cli("island-node", "--run-dir", str(run), *FAST, "--max-generations", "4",
                   "--checkpoint-every", "2", timeout=120)
    assert done.returncode == 0, done.stderr
    for name in (CURRENT, PREVIOUS):
        data = (run / name).read_bytes()
        (run / name).write_bytes(data[:-10] + bytes(10))
    best = (run / "best.msgpack").read_bytes()

    refused = run_cli("island-node", "--run-dir", str(run), *FAST, "--max-generations", "6",
                      timeout=60)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert "no usable checkpoint" in refused.stderr and "--fresh" in refused.stderr
    assert (run / "best.msgpack").read_bytes() == best  # nothing overwritten
    assert generations(run) == [1, 2, 3, 4]

    fresh = run_cli("island-node", "--run-dir", str(run), *FAST, "--max-generations", "2",
                    "--fresh", timeout=120)
    assert fresh.returncode == 0, fresh.stderr
    assert generations(run) == [1, 2]
    (aside,) = run.glob("previous-*")
    assert (aside / "best.msgpack").read_bytes() == best
    assert [r.generation for r in read_generations(aside / "log.jsonl")] == [1, 2, 3, 4]


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("island-node: "), result.stderr
    return lines[0]


def test_user_mistakes_end_in_one_line_and_exit_2(tmp_path, procs):
    peers = tmp_path / "peers.txt"
    peers.write_text("127.0.0.1:7001\n# fine\nnot an address at all\n")
    line = one_line_error(run_cli("island-node", "--run-dir", str(tmp_path / "a"), *FAST,
                                  "--peers", str(peers), "--bind", "tcp://127.0.0.1:0"))
    assert f"{peers}:3" in line
    assert not (tmp_path / "a" / "config.toml").exists()  # nothing written before the bind

    line = one_line_error(run_cli("island-node", "--run-dir", str(tmp_path / "b"), *FAST,
                                  "--bind", "tcp://127.0.0.1:0", "--curve-secret",
                                  str(tmp_path / "missing.key_secret"),
                                  "--curve-allow", str(tmp_path)))
    assert "missing.key_secret" in line

    # A port in use: the first node's port, taken by a second node on another directory.
    first_run = tmp_path / "first"
    procs.append(first := start_node(first_run, "--bind", "tcp://127.0.0.1:0"))
    address = wait_for(lambda: [e.address for e in of_kind(
        read_events(first_run / "events.jsonl"), NodeStarted)], "the first node", timeout=60)
    line = one_line_error(run_cli("island-node", "--run-dir", str(tmp_path / "c"), *FAST,
                                  "--bind", address[0]))
    assert "cannot bind" in line and address[0].rsplit(":", 1)[1] in line
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["node.lock"]
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0


def test_a_read_only_run_directory_is_one_line(tmp_path):
    """Root writes anywhere: as root the node runs without CAP_DAC_OVERRIDE (setpriv), so
    the directory's permissions bind it as they bind any user."""
    readonly = tmp_path / "run"
    readonly.mkdir()
    readonly.chmod(0o555)
    prefix = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: permissions do not bind root")
        prefix = ["setpriv", "--bounding-set=-dac_override"]
    try:
        result = subprocess.run([*prefix, script("island-node"), "--run-dir", str(readonly),
                                 *FAST], capture_output=True, text=True, timeout=120)
        line = one_line_error(result)
        assert str(readonly) in line and "cannot be written" in line
        assert list(readonly.iterdir()) == []
    finally:
        readonly.chmod(0o755)


def test_a_signal_cuts_a_lingering_wait_short_and_no_signal_lets_it_run_out():
    shutdown = Shutdown().install()
    try:
        assert shutdown.wait(0.05) is False
        threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGTERM)).start()
        assert shutdown.wait(60.0) is True  # returned on the signal, not after a minute
        assert shutdown.reason == "signal SIGTERM"
    finally:
        shutdown.restore()
