"""Every record that crosses a boundary is written and read through its type: a field a writer
forgets fails where it is written, and a record of another version is one line naming it."""

from __future__ import annotations

import json

import pytest

from gossip.events import PeerChanged, gossip_event
from island.lab.report import ReportError, write_report
from island.record import (
    GenerationRecord,
    MigrantArrived,
    RecordError,
    read_events,
    read_generations,
)
from island.runlog import RunDirectory


def _generation(number: int) -> GenerationRecord:
    return GenerationRecord(generation=number, evaluations=8 * number, wall=float(number),
                            best=float("-inf"), gen_best=3.0, mean=2.0, sigma=0.5, popsize=8,
                            restarts=0, steps=100)


def test_what_the_run_directory_writes_reads_back_as_the_same_types(tmp_path):
    run_dir = RunDirectory(tmp_path)
    run_dir.log(_generation(1))
    run_dir.event("migrant_dropped", origin="b", sender="c", role="rule", generation=1,
                  sent_generation=0, claimed=2.5, env="CartPole-v1", outcome="incompatible",
                  reason="another network")
    run_dir.gossip_event(gossip_event("peer_joined", peer="tcp://127.0.0.1:1", node="b"))
    run_dir.close()
    (record,) = read_generations(tmp_path / "log.jsonl")
    assert record.best is None and record.gen_best == 3.0  # JSON has no -inf
    dropped, joined = read_events(tmp_path / "events.jsonl")
    assert isinstance(dropped, MigrantArrived) and dropped.reason == "another network"
    assert isinstance(joined, PeerChanged) and joined.peer == "tcp://127.0.0.1:1"


def test_an_event_missing_a_field_fails_where_it_is_written(tmp_path):
    run_dir = RunDirectory(tmp_path)
    with pytest.raises(TypeError, match="generation"):
        run_dir.event("stopped", reason="signal", finished=False, evaluations=3)
    run_dir.close()


def test_a_log_of_another_version_is_one_line_naming_the_file_line_and_field(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    lines = [_generation(1).to_dict(), {"generation": 2, "evaluations": 16, "wall": 2.0}]
    (run / "log.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(RecordError) as err:
        read_generations(run / "log.jsonl")
    message = str(err.value)
    assert "\n" not in message and f"{run / 'log.jsonl'}:2" in message
    assert "GenerationRecord" in message and "best" in message
    with pytest.raises(ReportError, match="log.jsonl:2: not a GenerationRecord"):
        write_report([run], tmp_path / "report", videos=False, strategy_lifetimes=0)


def test_a_node_in_a_run_directory_of_another_version_says_so_in_one_line(tmp_path):
    from tests.conftest import run_cli

    (tmp_path / "log.jsonl").write_text(json.dumps({"generation": 1, "evaluations": 8}) + "\n")
    done = run_cli("island-node", "--workers", "0", "--max-generations", "2", "--run-dir",
                   str(tmp_path), "--quiet", timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"island-node: {tmp_path / 'log.jsonl'}:1: not a GenerationRecord of this version "
        "(Object missing required field `best`)"]


def test_a_genome_file_of_another_version_is_one_line_in_island_eval(tmp_path):
    from genome import GenomeSpec, encode_genome, initial_vector
    from tests.conftest import run_cli

    spec = GenomeSpec("rules", (4, 2))
    path = tmp_path / "old.msgpack"
    path.write_bytes(encode_genome(spec, initial_vector(spec),
                                   {"env": "CartPole-v1", "lifetime": "twenty"}))
    done = run_cli("island-eval", str(path), "--episodes", "1", timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"island-eval: {path}: not a GenomeMeta of this version "
        "(Expected `int`, got `str` - at `$.lifetime`)"]
