"""The rule-transfer matrix: genomes x environments against baselines on the same seeds."""

import json

import numpy as np

from genome import GenomeSpec, encode_genome, initial_vector
from island.record import GenomeMeta
from tests.conftest import run_cli


def _genome(path, family, env, obs, act, shift):
    spec = GenomeSpec("rules", (obs, 4, act), family)
    path.write_bytes(encode_genome(spec, initial_vector(spec) + shift,
                                   {"env": env, "lifetime": 2, "lifetime_fitness": "mean"}))
    return path


def test_two_genomes_by_two_environments_with_baselines_and_a_heatmap(tmp_path):
    cart = _genome(tmp_path / "cart.msgpack", "threefactor", "CartPole-v1", 4, 2, 0.0)
    lunar = _genome(tmp_path / "lunar.msgpack", "hebbian", "LunarLander-v3", 8, 4, 0.2)
    out = tmp_path / "matrix"
    result = run_cli("island-transfer", str(cart), str(lunar), "--envs", "CartPole-v1",
                     "MountainCarContinuous-v0", "--episodes", "3", "--compare", "1",
                     "--workers", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    cells = json.loads((out / "transfer.json").read_text())
    assert [(c["genome"], c["env"]) for c in cells] == [
        ("cart.msgpack", "CartPole-v1"), ("cart.msgpack", "MountainCarContinuous-v0"),
        ("lunar.msgpack", "CartPole-v1"), ("lunar.msgpack", "MountainCarContinuous-v0")]
    assert [c["held_out_env"] for c in cells] == [False, True, True, True]
    for c in cells:
        constants = (["constant action 0", "constant action 1"] if c["env"] == "CartPole-v1"
                     else ["constant zeros"])
        assert [r["name"] for r in c["rows"]] == ["evolved", "random rule 1", "learning off",
                                                  "no plasticity", *constants]
        assert c["comparisons"] == len(c["rows"]) - 1
        assert all(len(r["curve"]) == 2 for r in c["rows"])  # the genome's lifetime of 2
        best = max(r["mean"] for r in c["rows"][1:])
        assert np.isclose(c["margin"], c["rows"][0]["mean"] - best)
    assert (out / "transfer.png").stat().st_size > 5000
    assert (out / "curves.png").stat().st_size > 5000  # every cell's within-lifetime curves
    assert "data:image/png;base64," in (out / "transfer.html").read_text()
    assert "| cart.msgpack | MountainCarContinuous-v0 | yes |" in result.stdout
    progress = [line for line in result.stderr.splitlines() if line.startswith("island-transfer: ")]
    assert [line.split()[1] for line in progress] == ["1/4", "2/4", "3/4", "4/4"]

    before = (out / "transfer.md").read_text()
    for name in ("transfer.md", "transfer.png", "curves.png", "transfer.html"):
        (out / name).unlink()
    redrawn = run_cli("island-transfer", "--redraw", str(out))
    assert redrawn.returncode == 0, redrawn.stderr
    assert (out / "transfer.md").read_text() == before  # margins and verdicts recomputed alike
    assert (out / "curves.png").stat().st_size > 5000
    assert "data:image/png;base64," in (out / "transfer.html").read_text()


def test_redraw_of_a_directory_without_a_matrix_is_one_line_naming_the_flag(tmp_path):
    result = run_cli("island-transfer", "--redraw", str(tmp_path))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "--redraw" in result.stderr and "transfer.json" in result.stderr


def test_an_environment_that_cannot_be_scored_stops_the_matrix_before_any_cell(tmp_path):
    cart = _genome(tmp_path / "cart.msgpack", "threefactor", "CartPole-v1", 4, 2, 0.0)
    out = tmp_path / "m"
    result = run_cli("island-transfer", str(cart), "--envs", "CartPole-v1", "NoSuchEnv-v9",
                     "--episodes", "2", "--compare", "0", "--workers", "0", "--out", str(out))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "NoSuchEnv-v9" in result.stderr
    assert not out.exists()  # CartPole-v1, listed first, was never scored


def test_a_genome_that_cannot_move_is_refused_in_one_line(tmp_path):
    spec = GenomeSpec("weights", (4, 2))
    path = tmp_path / "w.msgpack"
    meta = GenomeMeta(env="CartPole-v1").to_dict()
    path.write_bytes(encode_genome(spec, np.zeros(spec.dim), meta))
    result = run_cli("island-transfer", str(path), "--envs", "Acrobot-v1", "--out",
                     str(tmp_path / "m"), "--episodes", "2")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "only 'rules' genomes transfer" in result.stderr
