"""The README's commands run one after another in one folder; a finished run is never
extended by a rerun with other flags, and its config.toml is never rewritten."""

from __future__ import annotations

import socket

from tests.conftest import run_cli

QUICK = ("--max-generations", "1", "--final-episodes", "0", "--workers", "0", "--quiet")


def default_dir(tmp_path, name: str):
    return tmp_path / "runs" / socket.gethostname().split(".")[0] / name


def test_each_environment_gets_its_own_run_directory_by_default(tmp_path):
    for env in ("CartPole-v1", "LunarLander-v3"):
        done = run_cli("island-node", "--env", env, *QUICK, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr
    for name in ("CartPole-v1-weights+rules-hebbian", "LunarLander-v3-weights+rules-hebbian"):
        assert (default_dir(tmp_path, name) / "checkpoint.msgpack").exists(), name


def test_a_rerun_with_other_flags_starts_a_directory_of_its_own(tmp_path):
    first = default_dir(tmp_path, "CartPole-v1-weights+rules-hebbian")
    assert run_cli("island-node", *QUICK, cwd=tmp_path).returncode == 0
    settings = (first / "config.toml").read_bytes()
    more = run_cli("island-node", *QUICK[:-1], "--max-generations", "2", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    assert (first / "config.toml").read_bytes() == settings  # never rewritten
    second = first.with_name(first.name + "-2")
    assert 'max_generations = 2' in (second / "config.toml").read_text()
    # the same flags again find their own run, finished, in the first directory
    again = run_cli("island-node", *QUICK, cwd=tmp_path)
    assert again.returncode == 0
    assert f"run in {first.relative_to(tmp_path)} already finished" in again.stderr


def test_a_named_run_directory_refuses_other_settings_in_one_line(tmp_path):
    run = tmp_path / "mine"
    assert run_cli("island-node", *QUICK, "--run-dir", str(run)).returncode == 0
    settings = (run / "config.toml").read_bytes()
    refused = run_cli("island-node", *QUICK, "--run-dir", str(run), "--popsize", "16")
    assert refused.returncode == 2
    (line,) = refused.stderr.splitlines()
    assert line.startswith(f"island-node: run directory {run} holds a run with other settings")
    assert "popsize 0 -> 16" in line and "--fresh" in line  # 0: CMA-ES sizes it
    assert (run / "config.toml").read_bytes() == settings
