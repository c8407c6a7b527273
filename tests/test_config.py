"""Configuration errors name the key, the file and the problem."""

import pytest

from island.config import ConfigError, config_from_mapping
from tests.conftest import run_cli


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match=r"unknown key 'popsise' in \[evolution\]"):
        config_from_mapping({"evolution": {"popsise": 8}})


def test_unknown_section_is_named():
    with pytest.raises(ConfigError, match=r"unknown section \[evolutoin\]"):
        config_from_mapping({"evolutoin": {"popsize": 8}})


@pytest.mark.parametrize("section, key, value, expected", [
    ("evolution", "popsize", "big", "expected an integer"),
    ("evolution", "sigma", True, "expected a number"),
    ("evaluation", "hidden", [16, "x"], r"hidden\[1\]: expected an integer"),
    ("evaluation", "lifetime", True, "expected an integer"),
])
def test_wrong_type_is_named(section, key, value, expected):
    with pytest.raises(ConfigError, match=rf"\[{section}\] {expected}|{expected}"):
        config_from_mapping({section: {key: value}})


def test_out_of_range_value_is_named():
    with pytest.raises(ConfigError, match="evolution.sigma"):
        config_from_mapping({"evolution": {"sigma": -1.0}})
    # a rescue at the whole budget would never run: it must be a share below 1
    with pytest.raises(ConfigError, match=r"evolution.rescue \(--rescue\): must be 0"):
        config_from_mapping({"evolution": {"rescue": 1.0}})
    with pytest.raises(ConfigError, match=r"evolution.mean_rate \(--mean-rate\): must be"):
        config_from_mapping({"evolution": {"mean_rate": 0.0}})
    with pytest.raises(ConfigError, match=r"evolution.rescue_level \(--rescue-level\): must"):
        config_from_mapping({"evolution": {"rescue_level": 1.5}})
    with pytest.raises(ConfigError, match=r"evolution.early_popsize \(--early-popsize\): must"):
        config_from_mapping({"evolution": {"early_popsize": 2}})
    with pytest.raises(ConfigError, match=r"evolution.early_level \(--early-level\): must"):
        config_from_mapping({"evolution": {"early_level": -0.1}})


def test_an_unknown_initial_mean_is_named_with_its_flag():
    with pytest.raises(ConfigError, match=r"evolution.init \(--init\): 'gaussian' is neither"):
        config_from_mapping({"evolution": {"init": "gaussian"}})
    with pytest.raises(ConfigError, match=r"evolution.rescue_from \(--rescue-from\): 'x0' is"):
        config_from_mapping({"evolution": {"rescue_from": "x0"}})


def test_config_file_errors_stop_the_node_with_the_file_and_key(tmp_path):
    config = tmp_path / "node.toml"
    config.write_text('[evaluation]\nenv = "CartPole-v1"\nepisodez = 3\n')
    result = run_cli("island-node", "--config", str(config), "--run-dir", str(tmp_path / "r"))
    assert result.returncode == 2
    assert "node.toml" in result.stderr and "episodez" in result.stderr


def test_flag_with_wrong_type_is_named(tmp_path):
    result = run_cli("island-node", "--popsize", "many", "--run-dir", str(tmp_path / "r"))
    assert result.returncode == 2 and "--popsize" in result.stderr


def test_unknown_environment_id_stops_the_node_naming_it(tmp_path):
    result = run_cli("island-node", "--env", "NoSuchEnv-v9", "--run-dir", str(tmp_path / "r"))
    assert result.returncode == 2 and "NoSuchEnv-v9" in result.stderr


def test_every_example_config_is_valid():
    """Node configs load as nodes; experiment files (with [[island]]) load as experiments."""
    from pathlib import Path

    from island.config import load_toml
    from island.lab.experiment import load_experiment

    examples = sorted(Path(__file__).parent.parent.joinpath("examples").glob("*.toml"))
    assert len(examples) >= 4
    for path in examples:
        values = load_toml(path)
        if "island" in values:
            assert len(load_experiment(path)) >= 2
        else:
            config_from_mapping(values, str(path))


def test_unset_network_sizes_follow_the_environment_and_are_recorded():
    from envs import env_info
    from island.node import spec_for

    expected = {"CartPole-v1": [], "LunarLander-v3": [], "BipedalWalker-v3": []}
    for env, hidden in expected.items():
        config = config_from_mapping({"evaluation": {"env": env}})
        assert config.evaluation.hidden is None
        spec = spec_for(config)
        info = env_info(env)
        assert spec.layer_sizes == (info.obs_dim, *hidden, info.act_dim)
        assert config.to_dict()["evaluation"]["hidden"] == hidden  # config.toml says what ran
    rules = config_from_mapping({"evaluation": {"kind": "rules"}})
    assert spec_for(rules).layer_sizes == (4, 16, 16, 2)  # a rule needs hidden units to shape
    for env, hidden in {"LunarLander-v3": 16, "BipedalWalker-v3": 32}.items():
        rules = config_from_mapping({"evaluation": {"env": env, "kind": "rules"}})
        info = env_info(env)
        assert spec_for(rules).layer_sizes == (info.obs_dim, hidden, info.act_dim)
    lunar = config_from_mapping({"evaluation": {"env": "LunarLander-v3"}})
    spec_for(lunar)
    assert (lunar.evaluation.episodes, lunar.evolution.popsize, lunar.evolution.sigma,
            lunar.evolution.mean_rate) == (1, 32, 0.2, 1.0)  # the recipe measured on LunarLander
    evo = lunar.evolution  # 64 until off the plateau, in place of the plateau rescue
    assert (evo.early_popsize, evo.early_level) == (64, None)
    assert (evo.rescue, evo.rescue_from, evo.rescue_level) == (0.0, "start", 0.5)
    given_pop = config_from_mapping({"evaluation": {"env": "LunarLander-v3"},
                                     "evolution": {"popsize": 32}})
    spec_for(given_pop)
    evo = given_pop.evolution  # a population given is kept throughout, and the rescue is on
    assert (evo.early_popsize, evo.rescue, evo.rescue_from) == (0, 0.3, "start")
    cart = config_from_mapping({"evaluation": {"env": "CartPole-v1"}, "evolution": {"sigma": 0.3}})
    spec_for(cart)
    assert (cart.evaluation.episodes, cart.evolution.popsize, cart.evolution.sigma,
            cart.evolution.mean_rate) == (3, 0, 0.3, 1.0)
    assert (cart.evolution.rescue, cart.evolution.rescue_from) == (0.0, "mean")
    assert cart.evolution.early_popsize == 0
    given = config_from_mapping({"evaluation": {"env": "LunarLander-v3", "hidden": []}})
    assert spec_for(given).layer_sizes == (8, 4)  # an explicit linear policy stays linear



def test_the_rule_family_help_names_every_family_but_the_sized_variants():
    from dataclasses import fields

    from genome.rules import FAMILIES, RECURRENT_STATES, SIZED_BY_STATE, sized_family_name
    from island.config import EvaluationConfig

    (field,) = [f for f in fields(EvaluationConfig) if f.name == "rule_family"]
    named = {name.strip() for name in field.metadata["help"].split(":")[1].split("|")}
    sized = {sized_family_name(f, s) for f in SIZED_BY_STATE for s in RECURRENT_STATES}
    assert named == (set(FAMILIES) - sized) | set(SIZED_BY_STATE)
