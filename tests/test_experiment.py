"""island-cluster runs an experiment as real island-node processes; island-report reads them."""

from __future__ import annotations

import re
import signal
import subprocess
import time

import pytest

from island.config import ConfigError
from island.lab.experiment import plan_experiment
from island.lab.report import read_summary
from island.record import HeldOut, Stopped, of_kind, read_events, read_generations
from tests.conftest import run_cli, run_cluster, script, stop_process

THREE_CARTPOLES = """
[evaluation]
env = "CartPole-v1"
episodes = 1
workers = 1

[evolution]
popsize = 8

[migration]
interval = 1

[stop]
max_generations = 15
max_time = 90
target = "none"  # every island runs its 15 generations
final_episodes = 10

[gossip]
heartbeat_interval = 0.2
dead_after = 1.5

[[island]]
name = "a"

[[island]]
name = "b"
evolution.sigma = 0.3

[[island]]
name = "c"
[island.evolution]
sigma = 0.8
"""


def test_three_islands_run_exchange_migrants_and_are_reported(tmp_path):
    experiment = tmp_path / "three.toml"
    experiment.write_text(THREE_CARTPOLES)
    out = tmp_path / "runs"
    output = run_cluster(experiment, out)
    assert "a: best" in output
    for name in ("a", "b", "c"):
        assert read_generations(out / name / "log.jsonl"), f"{name} logged no generation"
        assert of_kind(read_events(out / name / "events.jsonl"), HeldOut)

    report = tmp_path / "report"
    result = run_cli("island-report", str(out), "--out", str(report), timeout=120)
    assert result.returncode == 0, result.stderr
    for figure in ("fitness_evaluations.png", "fitness_wall.png", "migration.png", "rules.png"):
        assert (report / figure).stat().st_size > 0
    page = (report / "report.html").read_text()
    assert "data:image/png;base64," in page and "<table>" in page
    summary = read_summary(report / "summary.json")
    # It opens with who won on held-out seeds, then shows every champion acting.
    assert page.index(summary.summary) < page.index("<table>")
    assert re.search(r"</b> (won|tied) with a held-out mean of ", summary.summary)
    assert page.count("data:image/gif;base64,") == 3 and page.count("<figcaption") == 3 + 5
    assert set(summary.videos) == {"a", "b", "c"}
    rows = {row.island: row for row in summary.islands}
    assert set(rows) == {"a", "b", "c"}
    assert all(row.held_out_mean is not None for row in rows.values())
    between = [m for m in summary.migration if m.origin != m.receiver]
    assert sum(m.accepted + m.grafted + m.dropped for m in between) > 0
    assert sum(row.migrants_received for row in rows.values()) > 0


def test_report_lists_a_node_killed_halfway(tmp_path):
    run_dir = tmp_path / "killed"
    node = subprocess.Popen([script("island-node"), "--run-dir", str(run_dir), "--node-id",
                             "killed", "--workers", "1", "--popsize", "8", "--episodes", "1",
                             "--quiet", "--max-time", "60", "--target", "none"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(read_generations(run_dir / "log.jsonl")) < 3:
            assert node.poll() is None, "island-node exited before it was killed"
            assert time.monotonic() < deadline, "island-node logged no generations"
            time.sleep(0.2)
        node.send_signal(signal.SIGKILL)
        node.wait()
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
    with open(run_dir / "log.jsonl", "a") as log:
        log.write('{"generation": 99, "evalu')  # the line a killed node may tear
    (run_dir / "events.jsonl").unlink(missing_ok=True)

    report = tmp_path / "report"
    result = run_cli("island-report", str(run_dir), "--out", str(report), timeout=120)
    assert result.returncode == 0, result.stderr
    summary = read_summary(report / "summary.json")
    (row,) = summary.islands
    assert row.island == "killed" and row.generations >= 3
    assert row.held_out_mean is None and row.migrants_received == 0
    assert (report / "report.html").exists()


def test_unknown_key_in_an_island_names_the_island_and_the_key(tmp_path):
    experiment = tmp_path / "bad.toml"
    experiment.write_text('[[island]]\nname = "good"\n\n[[island]]\nname = "lunar"\n'
                          'evolution.sigmaa = 0.3\n')
    result = run_cli("island-cluster", str(experiment), "--out", str(tmp_path / "runs"),
                     timeout=60)
    assert result.returncode == 2
    assert "island 'lunar'" in result.stderr and "sigmaa" in result.stderr
    assert not (tmp_path / "runs" / "good").exists()


@pytest.mark.parametrize("island, words", [
    ({"name": "x", "popsize": 8}, ["island 'x'", "popsize"]),
    ({"name": "x", "run": {"node_id": "y"}}, ["island 'x'", "run.node_id"]),
    ({"name": "../x"}, ["name"]),
])
def test_experiment_mistakes_are_named(island, words):
    with pytest.raises(ConfigError) as err:
        plan_experiment({"island": [island]})
    for word in words:
        assert word in str(err.value)


def test_sigterm_stops_every_island_cleanly(tmp_path):
    experiment = tmp_path / "long.toml"
    experiment.write_text(THREE_CARTPOLES.replace("max_generations = 15", "max_generations = 0")
                          .replace("max_time = 90", "max_time = 120"))
    out = tmp_path / "runs"
    cluster = subprocess.Popen([script("island-cluster"), str(experiment), "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not all(read_generations(out / n / "log.jsonl") for n in ("a", "b", "c")):
            assert cluster.poll() is None, cluster.stdout.read()
            assert time.monotonic() < deadline, "islands logged no generations"
            time.sleep(0.2)
        cluster.send_signal(signal.SIGTERM)
        output, _ = cluster.communicate(timeout=60)
    finally:
        stop_process(cluster)
    assert cluster.returncode == 0, output
    for name in ("a", "b", "c"):
        stops = of_kind(read_events(out / name / "events.jsonl"), Stopped)
        assert stops and stops[-1].reason == "signal SIGTERM", name
