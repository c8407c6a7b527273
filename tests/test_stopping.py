"""A cap bounds a run and never removes its target; `--target none` runs to the cap."""

from __future__ import annotations

import argparse

from island.config import StopConfig, add_config_flags, build_config
from island.record import HeldOut, Rescue, Stopped, of_kind, read_events, read_generations
from island.stagnation import rescue_due
from island.stopping import StopCriteria
from tests.conftest import run_cli


def stop_of(*flags: str) -> StopCriteria:
    parser = argparse.ArgumentParser()
    add_config_flags(parser)
    config = build_config(parser.parse_args(list(flags)))
    return StopCriteria.from_config(config.stop, "CartPole-v1", 475.0)


def test_no_option_stops_at_the_threshold_or_the_default_cap():
    stop = stop_of()
    assert (stop.target, stop.max_evals) == (475.0, StopConfig().default_max_evals)
    assert stop.describe() == ("a champion confirmed at 475 (CartPole-v1's reward_threshold), "
                               "or a cap of 100,000 evaluations")


def test_a_safety_cap_keeps_the_stop_at_the_threshold():
    for flags, caps in ((["--max-time", "1200"], (0, 1200.0, 0, 0.0)),
                        (["--max-evals", "5000"], (5000, 0.0, 0, 0.0)),
                        (["--max-generations", "40"], (0, 0.0, 40, 0.0)),
                        (["--max-cpu", "1200"], (0, 0.0, 0, 1200.0))):
        stop = stop_of(*flags)
        assert stop.target == 475.0, flags
        assert (stop.max_evals, stop.max_time, stop.max_generations, stop.max_cpu) == caps
        assert stop.reason(480.0, 10, 1, 1.0) == "CartPole-v1's reward_threshold 475 reached"
    assert stop_of("--max-time", "1200").reason(100.0, 10, 1, 1200.0) == "max_time 1200s reached"


def test_target_none_runs_to_the_cap():
    stop = stop_of("--target", "none", "--max-evals", "300")
    assert stop.target is None
    assert stop.reason(1e9, 299, 1, 1.0) is None
    assert stop.reason(1e9, 300, 1, 1.0) == "max_evals 300 reached"
    assert stop.describe() == "a cap of 300 evaluations (no target)"
    # with no cap given, the default cap still ends it
    assert stop_of("--target", "none").max_evals == StopConfig().default_max_evals


def test_a_given_target_names_its_flag_and_progress_follows_the_nearest_cap():
    stop = stop_of("--target", "200", "--max-evals", "1000", "--max-time", "100")
    assert stop.reason(201.0, 1, 1, 1.0) == "--target 200 reached"
    assert stop.progress(evaluations=250, generation=3, wall=50.0) == 0.5
    assert stop.progress(evaluations=2000, generation=3, wall=5.0) == 1.0


def test_a_cpu_budget_ends_the_run_at_the_first_generation_past_it(tmp_path):
    stop = stop_of("--target", "none", "--max-cpu", "8")
    assert stop.describe() == "a cap of 8 CPU s (no target)"
    assert stop.reason(1e9, 10**6, 10**4, 10**4, cpu=7.9) is None  # wall is not CPU
    assert stop.progress(evaluations=10, generation=1, wall=100.0, cpu=2.0) == 0.25
    run = tmp_path / "run"
    # CartPole's returns stop at 500, so a target of 1000 leaves the budget to end the run
    # and the plateau rescue (off for CartPole unless asked) to come at half of it
    result = run_cli("island-node", "--env", "CartPole-v1", "--seed", "5", "--target", "1000",
                     "--max-cpu", "8", "--rescue", "0.5", "--rescue-level", "1",
                     "--workers", "1", "--final-episodes", "3", "--run-dir", str(run))
    assert result.returncode == 0, result.stderr
    assert "or a cap of 8 CPU s" in result.stdout
    assert "stopped (max_cpu 8 CPU s reached)" in result.stdout
    # the budget is the cpu log.jsonl records: the node process and its workers
    spent = [r.cpu_spent for r in read_generations(run / "log.jsonl")]
    assert spent[-1] >= 8 and all(cpu < 8 for cpu in spent[:-1])
    stopped = of_kind(read_events(run / "events.jsonl"), Stopped)
    assert stopped[-1].finished and stopped[-1].reason == "max_cpu 8 CPU s reached"
    # a budget ends a run like any other stop: with the best genome's held-out score
    held = of_kind(read_events(run / "events.jsonl"), HeldOut)
    assert len(held) == 1 and held[0].lifetimes == 3 and held[0].time >= stopped[-1].time
    # with no evaluation cap the rescue's share is of the CPU budget: it came at 4 CPU s
    (rescue,) = of_kind(read_events(run / "events.jsonl"), Rescue)
    cpu = {r.generation: r.cpu_spent
           for r in read_generations(run / "log.jsonl")}
    assert cpu[rescue.generation] >= 4 and cpu[rescue.generation - 2] < 4


def test_an_evaluation_cap_decides_the_rescue_before_a_cpu_budget():
    only_cpu = stop_of("--target", "300", "--max-cpu", "1200")
    assert only_cpu.max_evals == 0  # a CPU budget drops the default evaluation cap
    assert not rescue_due(0.3, only_cpu, 10**6, 0, False, cpu=359.0)
    assert rescue_due(0.3, only_cpu, 10, 0, False, cpu=360.0)
    assert not rescue_due(0.3, only_cpu, 10, 1, False, cpu=360.0)  # once only
    both = stop_of("--target", "300", "--max-cpu", "1200", "--max-evals", "1000")
    assert not rescue_due(0.3, both, 299, 0, False, cpu=10**6)
    assert rescue_due(0.3, both, 300, 0, False, cpu=0.0)
