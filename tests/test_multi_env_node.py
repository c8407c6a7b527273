"""An island that trains one rule on several environments (`evaluation.envs`), end to end."""

import pytest

from island.lab.genome_file import GenomeFile
from island.record import Confirmation, HeldOut, of_kind, read_events, read_generations
from tests.conftest import run_cli

TWO = ["--envs", "CartPole-v1,Acrobot-v1", "--kind", "rules", "--rule-family", "threefactor",
       "--hidden", "", "--max-steps", "40", "--workers", "1", "--quiet"]


def test_a_two_environment_island_logs_and_scores_both(tmp_path):
    run = tmp_path / "run"
    result = run_cli("island-node", *TWO, "--run-dir", str(run), "--lifetime", "2",
                     "--normalise-obs",
                     "--episodes", "1", "--popsize", "6", "--max-generations", "2",
                     "--validate-every", "2", "--validation-episodes", "1",
                     "--final-episodes", "4")
    assert result.returncode == 0, result.stderr
    log = read_generations(run / "log.jsonl")
    assert all(set(line.env_scores) == {"CartPole-v1", "Acrobot-v1"} for line in log)
    # Every lifetime is played in both environments: 6 genomes x 1 lifetime x 2 episodes x
    # 2 environments per generation, and a champion round of 2 candidates at generation 2.
    assert log[-1].evaluations == 2 * 6 * 2 * 2 + 2 * 1 * 2 * 2
    (held_out,) = of_kind(read_events(run / "events.jsonl"), HeldOut)
    assert list(held_out.envs) == ["CartPole-v1", "Acrobot-v1"]
    for score in held_out.envs.values():  # last_half of 2 episodes: the second one
        assert len(score.curve) == 2
        assert score.mean == pytest.approx(score.curve[1], abs=1e-3)
    normalised = [s.normalised_mean for s in held_out.envs.values()]
    assert held_out.held_out_mean == pytest.approx(sum(normalised) / 2)
    saved = GenomeFile.read(run / "best.msgpack")
    assert saved.trained_on == ["CartPole-v1", "Acrobot-v1"]
    assert saved.lifetime == 2
    # Scored where it was trained, with its cap; elsewhere re-sized, without it.
    assert saved.scored_in("Acrobot-v1")[2].max_steps == 40
    spec, _, settings = saved.scored_in("LunarLander-v3")
    assert spec.layer_sizes == (8, 4) and settings.max_steps is None
    assert settings.normalise_obs  # its inputs were scaled in training, so they are here
    assert "Acrobot-v1" in (run / "config.toml").read_text()


def test_a_champion_on_two_environments_is_confirmed_on_both(tmp_path):
    """A confirmation scores each fresh lifetime in every environment, and counts them."""
    run = tmp_path / "run"
    result = run_cli("island-node", *TWO, "--run-dir", str(run), "--lifetime", "2",
                     "--episodes", "1", "--popsize", "6", "--max-generations", "2",
                     "--validate-every", "2", "--validation-episodes", "1",
                     "--target", "-100", "--confirm-episodes", "3", "--confirm-limit", "3",
                     "--final-episodes", "0")
    assert result.returncode == 0, result.stderr
    (confirmed,) = of_kind(read_events(run / "events.jsonl"), Confirmation)
    assert confirmed.lifetimes == 3
    # 2 generations of 6 genomes x 2 episodes x 2 environments, a round of 2 candidates,
    # and 3 confirmation lifetimes of 2 episodes, each in both environments.
    assert read_generations(run / "log.jsonl")[-1].evaluations == 2 * 24 + 2 * 4 + 3 * 4


@pytest.mark.parametrize("envs, named", [
    ("CartPole-v1,NoSuchEnv-v0", "NoSuchEnv-v0"),
    ("CartPole-v1,CarRacing-v3", "CarRacing-v3"),  # image observations: no flat Box
])
def test_a_bad_environment_in_envs_stops_the_node_in_one_line(tmp_path, envs, named):
    run = tmp_path / "run"
    result = run_cli("island-node", *TWO[2:], "--envs", envs, "--run-dir", str(run),
                     "--max-generations", "1")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "evaluation.envs" in line and named in line
    assert not run.exists()  # nothing ran, nothing was written


def test_several_environments_need_a_rules_genome(tmp_path):
    result = run_cli("island-node", "--envs", "CartPole-v1,Acrobot-v1", "--kind", "weights",
                     "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "evaluation.envs" in line and "'rules'" in line
