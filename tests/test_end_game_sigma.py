"""The end game's step size: cut once, when a champion round first scores at the target."""

import pytest

from island.config import ConfigError, config_from_mapping
from island.record import EndGame, of_kind, read_events, read_generations
from tests.conftest import run_cli


def _run(tmp_path, name: str, *flags: str):
    """Two generations of LunarLander whose round after generation 2 is at the target (of
    -1000, below any return), so generation 2 starts the end game (the run stops only on a
    confirmation, so not on generation 1's best sample)."""
    run = tmp_path / name
    result = run_cli("island-node", "--env", "LunarLander-v3", "--kind", "weights",
                     "--hidden", "4", "--popsize", "8", "--episodes", "1",
                     "--max-generations", "2", "--validate-every", "2",
                     "--validation-episodes", "3", "--confirm-episodes", "2",
                     "--target", "-1000", "--final-episodes", "0", "--seed", "1",
                     "--workers", "1", "--quiet", "--run-dir", str(run), *flags)
    assert result.returncode == 0, result.stderr
    return run


def test_the_step_size_is_cut_by_the_factor_when_the_end_game_begins_and_not_before(tmp_path):
    """The same seeds with and without the cut: generation 1 (no round) is the same,
    generation 2's step size (logged after its round) is that of the run without, halved."""
    plain = _run(tmp_path, "plain")
    cut = _run(tmp_path, "cut", "--end-game-sigma", "0.5")
    assert "end_game_sigma = 0.5" in (cut / "config.toml").read_text()
    assert of_kind(read_events(cut / "events.jsonl"), EndGame)
    (p1, p2), (c1, c2) = read_generations(plain / "log.jsonl"), read_generations(cut / "log.jsonl")
    assert c1.sigma == p1.sigma
    assert c2.sigma == pytest.approx(0.5 * p2.sigma)


@pytest.mark.parametrize("factor", [0.0, 1.5])
def test_a_factor_outside_zero_to_one_is_refused(factor):
    with pytest.raises(ConfigError, match=r"^evolution.end_game_sigma \(--end-game-sigma\)"):
        config_from_mapping({"evolution": {"end_game_sigma": factor}})
