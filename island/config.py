"""Node configuration: dataclasses, loaded from TOML and overridden by flags, validated once.

Every field of every section is also a command-line flag named after it
(`popsize` -> `--popsize`); precedence is defaults < TOML file < flags. Field
names are unique across sections so that a flag names exactly one option.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genome.layout import INITS, W_MAX
from gossip.config import GossipConfig
from gossip.options import ConfigError, option, set_field

RESCUE_FROM = ("mean", "start")  # where evolution.rescue restarts the island
NO_TARGET = math.inf  # `--target none`: a score never reached, so only a cap ends the run


@dataclass
class EvaluationConfig:
    """What a genome is and where it is scored."""

    env: str = option("CartPole-v1", "gymnasium environment id the genome is scored in")
    envs: list[str] = option([], "several environments for one `rules` genome, fitness "
                             "across them (envs/multi.py); empty: `env` alone")
    envs_fitness: str = option("mean", "mean | min over `envs` of the normalised scores")
    kind: str = option("weights+rules", "genome kind: weights | rules | weights+rules")
    rule_family: str = option("hebbian", "learning rule: hebbian | oja | threefactor | "
                              "threefactor-abcd | learned | perturbation | recurrent | "
                              "recurrent-explore | recurrent-explore-antithetic | "
                              "neuron-state | contingency")
    rule_state: int = option(4, "numbers of state per synapse (2-8) for the recurrent "
                             "families; per neuron, for neuron-state")
    hidden: list[int] | None = option(None, "hidden layer widths, e.g. 16,16; unset: sized "
                                      "from the environment (island/sizing.py)")
    episodes: int | None = option(None, "lifetimes per evaluation (fresh seeds); unset: sized "
                                  "from the environment")
    # one noisy episode cannot rank policies that differ by less than its spread
    episodes_at_target: int | None = option(None, "lifetimes per evaluation once a champion "
                                            "round has scored at the target (the end game); "
                                            "unset: sized from the environment")
    lifetime: int = option(1, "episodes per lifetime; the weights carry what the rule "
                           "learned across them")
    lifetime_fitness: str = option("last_half", "a lifetime's score: mean | last_half | "
                                   "weighted (later episodes count more)")
    # Acrobot's hidden-8 rule: lifetimes from -474 to -79 about a mean of -130
    # (experiments/results/acrobot-2026-12-07f/); the mean ranks a rule that fails on some
    # initial weights level with one that never does
    train_fitness: str = option("mean", "what CMA-ES ranks a genome by across its training "
                                "lifetimes: mean | lower_quarter (the mean of its worst "
                                "quarter); rounds, confirmations and held-out scores: the mean")
    max_steps: int = option(0, "cap on steps per episode; 0 keeps the environment's own limit")
    # a hovering LunarLander plays its 1,000 steps; the judge still sees them all
    train_max_steps: int = option(0, "cap on steps per TRAINING episode (the generations "
                                  "CMA-ES ranks); champion rounds, confirmations and "
                                  "held-out scores play to the episode's own end; 0: none")
    # BipedalWalker: a cap of 600 left the plateau 341-450 CPU s sooner on two seeds, and held
    # for a whole run the search favoured gaits that fall after step 600; lifting it keeps
    # the first and not the second (benchmarks/bipedalwalker-cap-2026-12-07/)
    train_max_steps_until: float | None = option(None, "lift the training episode cap for "
                                                 "good once a champion round scored this")
    # BipedalWalker seed 3930 stood on the plateau to the rescue at 360 CPU s, and its capped
    # rounds reached 200 only at 936 of its 1,200 (benchmarks/bipedalwalker-cap-2026-12-07/)
    train_max_steps_share: float | None = option(None, "lift the training episode cap at the "
                                                 "latest once the run has spent this share "
                                                 "of its budget (its nearest cap, 0 to 1)")
    w_max: float = option(W_MAX, "weights are clipped to [-w_max, w_max]")
    # off by default: on LunarLander it was no better (benchmarks/time_to_solve.md)
    normalise_obs: bool = option(False, "standardise inputs by a random policy's observation "
                                 "statistics (envs/random_policy.py)")
    # BipedalWalker's -100 for a fall otherwise makes standing still the first optimum
    train_reward_floor: float | None = option(None, "training fitness counts a step's reward "
                                              "below this as this (rounds, confirmations and "
                                              "held-out scores keep the true rewards)")
    # no gain on BipedalWalker (benchmarks/time_to_solve.md)
    train_reward_floor_until: float | None = option(None, "lift the training reward floor for "
                                                    "good once a champion round scored this")
    workers: int | None = option(None, "evaluation processes; unset: one per core; 0: in this "
                                 "process")
    # envs/simulators.py; the run records which
    simulator: str | None = option(None, "what steps training episodes: envpool (C++, "
                                   "batched) | gymnasium; unset: envpool when it provides "
                                   "every environment, else gymnasium")
    validation_episodes: int = option(10, "lifetimes per champion round (0: the champion is "
                                      "the best training sample)")
    validate_every: int = option(5, "generations between champion rounds")
    confirm_episodes: int = option(50, "fresh lifetimes per batch confirming a champion at the "
                                   "target before the run stops (0: no confirmation)")
    confirm_limit: int = option(200, "most lifetimes pooled in one round while a "
                                "confirmation is inconclusive")
    # a 10-lifetime round crowns the luckiest of near-equals; BipedalWalker's falls hide there
    stand_on_confirmed: bool = option(False, "the run stands behind (and is scored on) the "
                                      "genome with the highest confirmed bound so far when "
                                      "it beats the champion's, not the latest round's winner")

    @property
    def env_ids(self) -> list[str]:
        """The environments a genome is scored on: `envs`, or `env` alone."""
        return list(self.envs) or [self.env]

    @property
    def spec_family(self) -> str:
        """The genome's rule family: `rule_family`, sized by `rule_state` if it keeps a
        state (recurrent, its explore and antithetic variants, neuron-state)."""
        from genome.rules import sized_family_name

        return sized_family_name(self.rule_family, self.rule_state)


@dataclass
class EvolutionConfig:
    """CMA-ES settings of the island."""

    popsize: int = option(0, "CMA-ES population; 0: sized from the environment")
    early_popsize: int | None = option(None, "population until a champion round scores "
                                       "`early_level` of the way to the target, then "
                                       "popsize (same mean, step size and covariance); "
                                       "0: off; unset: sized")
    early_level: float | None = option(None, "share of the way from random to the target a "
                                       "champion round must score for `early_popsize` to "
                                       "give way (1: the end game); unset: rescue_level")
    sigma: float | None = option(None, "initial step size; unset: sized from the environment")
    seed: int = option(-1, "the island's random seed; -1: derived from the node id")
    sep_above: int = option(2000, "diagonal (sep-)CMA-ES above this genome dimension")
    restarts: bool = option(True, "IPOP: restart with a doubled population on stagnation")
    stagnation: int = option(200, "generations without a better smoothed median before a "
                             "restart")
    # island/generation.py; the sizing module says where it was measured
    rescue: float | None = option(None, "by this share of the evaluation cap, a run short of "
                                  "`rescue_level` restarts once; 0: off; unset: sized")
    rescue_from: str | None = option(None, "where the rescue restarts: mean (the run's mean) "
                                     "| start (the initial mean); unset: sized")
    rescue_level: float | None = option(None, "the rescue spares a run whose best round scored "
                                        "this share of the way from random to the target; "
                                        "unset: sized")
    max_popsize: int = option(512, "largest population IPOP restarts may reach")
    mirrored: bool = option(False, "sample in mirrored pairs m + y and m - y (pycma's "
                            "CMA_mirrors)")
    mean_rate: float = option(1.0, "share of the way the mean moves to the recombination until "
                              "the end game (pycma's CMA_cmean)")
    # LunarLander's end game: samples at the climb's step size scored 66-177 where their
    # mean scored 236-271, at half of it 205-230; but half the step size then sank to 0.08
    # and seed 27001 ran to its cap (benchmarks/lunar-cpu-2026-12-07f/): off
    end_game_sigma: float = option(1.0, "the step size is multiplied by this once, when a "
                                   "champion round first scores at the target (the end "
                                   "game); 1: unchanged")
    init: str = option("zeros", "the initial mean: zeros | random (its weights) | a genome "
                       "file (.msgpack) of the same network and family, to continue from")


@dataclass
class MigrationConfig:
    """What leaves and what may enter the island."""

    interval: int = option(5, "generations between emissions of elites")
    migrants: int = option(2, "elites per emission")
    max_injected: int = option(0, "most migrants injected per generation; 0: popsize // 4")


@dataclass
class StopConfig:
    """When the node stops by itself. The target and the caps are separate: a run stops at
    whichever comes first (island/stopping.py)."""

    target: float | None = option(None, "stop once the champion is confirmed at this score; "
                                  "unset: the environment's reward_threshold; none: no target",
                                  words={"none": NO_TARGET})
    max_evals: int = option(0, "cap on episode evaluations; 0: default_max_evals, unless "
                            "another cap is given")
    max_time: float = option(0.0, "cap on seconds of wall time; 0: none")
    # A shared machine's wall time depends on its other users; a CPU budget does not.
    max_cpu: float = option(0.0, "cap on CPU seconds of this node process and its workers, "
                            "as log.jsonl's cpu counts them (a resumed process counts anew); "
                            "0: none")
    max_generations: int = option(0, "cap on generations; 0: none")
    final_episodes: int = option(100, "held-out lifetimes scoring the best genome at the end "
                                 "(0: off)")
    # gymnasium is the judge of every reported figure, whatever trained
    final_simulator: str = option("gymnasium", "the simulator of that held-out score: "
                                  "gymnasium | envpool (faster)")
    default_max_evals: int = option(100_000, "the evaluation cap when no cap is given")


@dataclass
class RunConfig:
    """Where the node keeps its records."""

    run_dir: str = option("", "run directory; unset: runs/<node id>/<env>-<kind>-<family>")
    node_id: str = option("", "node id; unset: the host name, with the port when networked")
    checkpoint_every: int = option(10, "generations between checkpoints")
    quiet: bool = option(False, "print only the start, the stop and errors")
    # so a dashboard polling every few seconds sees the result before it goes
    linger: float = option(5.0, "seconds a networked node that finished keeps answering")


SECTIONS: dict[str, type] = {
    "evaluation": EvaluationConfig,
    "evolution": EvolutionConfig,
    "migration": MigrationConfig,
    "stop": StopConfig,
    "run": RunConfig,
    "gossip": GossipConfig,
}


@dataclass
class NodeConfig:
    """The whole configuration of one node."""

    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    migration: MigrationConfig = field(default_factory=MigrationConfig)
    stop: StopConfig = field(default_factory=StopConfig)
    run: RunConfig = field(default_factory=RunConfig)
    gossip: GossipConfig = field(default_factory=GossipConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain data for `config.toml` (None values are left out: TOML has no null)."""
        sections = {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}
        return {name: {k: v for k, v in table.items() if v is not None}
                for name, table in sections.items()}


def _field_owner() -> dict[str, tuple[str, Any]]:
    """Option name -> (its section, its resolved type)."""
    owners: dict[str, tuple[str, Any]] = {}
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in owners:
                raise RuntimeError(f"option {f.name!r} is defined in two sections")
            owners[f.name] = (section, hints[f.name])
    return owners


def _apply(config: NodeConfig, values: dict[str, Any], source: str) -> None:
    """Apply a {section: {key: value}} mapping, rejecting unknown sections and keys."""
    for section, table in values.items():
        if section not in SECTIONS:
            raise ConfigError(
                f"{source}: unknown section [{section}]; known: {', '.join(SECTIONS)}"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        target = getattr(config, section)
        names = {f.name: f for f in dataclasses.fields(target)}
        for key, value in table.items():
            if key not in names:
                raise ConfigError(
                    f"{source}: unknown key {key!r} in [{section}]; known: {', '.join(names)}"
                )
            set_field(target, key, value, f"{source}: [{section}] {key}")


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, naming the file in any error."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per option, described by its field; unset flags leave the TOML or default
    value alone."""
    parser.add_argument("--config", metavar="FILE.toml",
                        help="a TOML file of options, sections as the groups below; flags win")
    for section, cls in SECTIONS.items():
        group = parser.add_argument_group(f"[{section}]", (cls.__doc__ or "").strip())
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            flag = "--" + f.name.replace("_", "-")
            default = f.default_factory() if f.default is dataclasses.MISSING else f.default
            shown = "unset" if default is None else repr(default)
            help_text = f"{f.metadata.get('help', '')} (default: {shown})".lstrip()
            if hints[f.name] is bool:
                group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction,
                                   default=argparse.SUPPRESS, help=help_text)
            else:
                group.add_argument(flag, dest=f.name, default=argparse.SUPPRESS,
                                   metavar=f.name.upper(), help=help_text)


def build_config(args: argparse.Namespace) -> NodeConfig:
    """Defaults, then the TOML file, then flags; validated."""
    config = NodeConfig()
    if getattr(args, "config", None):
        _apply(config, load_toml(args.config), str(args.config))
    owners = _field_owner()
    for name, value in vars(args).items():
        if name not in owners:
            continue
        section, _ = owners[name]
        # Flags and TOML values pass the same one type check.
        set_field(getattr(config, section), name, value, "--" + name.replace("_", "-"),
                  from_text=True)
    validate(config)
    return config


def config_from_mapping(values: dict[str, Any], source: str = "config") -> NodeConfig:
    """A validated config from a {section: {key: value}} mapping (experiment files, tests)."""
    config = NodeConfig()
    _apply(config, values, source)
    validate(config)
    return config


def read_config(path: str | Path) -> NodeConfig:
    """A run's `config.toml` as the NodeConfig it ran with (ConfigError names the file)."""
    return config_from_mapping(load_toml(path), str(path))


def validate(config: NodeConfig) -> None:
    """Check ranges and names once, at the edge, so the inside can trust the config."""
    from envs.episodes import LIFETIME_FITNESS, TRAIN_FITNESS
    from envs.multi import ACROSS_ENVS
    from envs.simulators import SIMULATORS
    from genome.rules import (
        FAMILIES,
        MAX_RULE_PARAMS,
        RECURRENT_STATE,
        RECURRENT_STATES,
        SIZED_BY_STATE,
    )
    from genome.spec import MAX_LAYERS, MAX_WIDTH, GenomeKind

    ev, evo, mig, stop, run = (config.evaluation, config.evolution, config.migration,
                               config.stop, config.run)
    checks = [
        (ev.kind in {k.value for k in GenomeKind}, "evaluation.kind",
         f"{ev.kind!r} is not one of {', '.join(k.value for k in GenomeKind)}"),
        (ev.rule_family in FAMILIES, "evaluation.rule_family",
         f"{ev.rule_family!r} is not one of {', '.join(FAMILIES)}"),
        (all(0 < h <= MAX_WIDTH for h in ev.hidden or []), "evaluation.hidden",
         f"layer sizes must be in 1..{MAX_WIDTH}, got {ev.hidden}"),
        (len(ev.hidden or []) < MAX_LAYERS, "evaluation.hidden",
         f"at most {MAX_LAYERS - 1} hidden layers, got {len(ev.hidden or [])}"),
        (ev.rule_state in RECURRENT_STATES, "evaluation.rule_state",
         f"must be in {RECURRENT_STATES.start}..{RECURRENT_STATES.stop - 1}, "
         f"got {ev.rule_state}"),
        (ev.rule_state == RECURRENT_STATE or ev.rule_family in SIZED_BY_STATE,
         "evaluation.rule_state",
         f"{ev.rule_family!r} has no state to size; rule_state sizes "
         f"{', '.join(SIZED_BY_STATE)}"),
        (ev.kind == "weights" or ev.spec_family not in FAMILIES
         or (len(ev.hidden or []) + 1) * FAMILIES[ev.spec_family].n_params <= MAX_RULE_PARAMS,
         "evaluation.hidden",
         f"a {ev.spec_family} rule on {len(ev.hidden or []) + 1} layers would have more than "
         f"{MAX_RULE_PARAMS} parameters: use fewer hidden layers or a smaller rule_state"),
        (len(ev.envs) < 2 or ev.kind == "rules", "evaluation.envs",
         f"only a 'rules' genome trains on several environments (its rule is per layer, "
         f"weights are not), not {ev.kind!r}"),
        (len(set(ev.envs)) == len(ev.envs), "evaluation.envs", "an environment is listed twice"),
        (ev.envs_fitness in ACROSS_ENVS, "evaluation.envs_fitness",
         f"{ev.envs_fitness!r} is not one of {', '.join(ACROSS_ENVS)}"),
        (ev.episodes is None or ev.episodes >= 1, "evaluation.episodes", "must be at least 1"),
        (ev.episodes_at_target is None or ev.episodes_at_target >= 1,
         "evaluation.episodes_at_target", "must be at least 1"),
        (ev.lifetime >= 1, "evaluation.lifetime", "must be at least 1 episode"),
        (ev.lifetime_fitness in LIFETIME_FITNESS, "evaluation.lifetime_fitness",
         f"{ev.lifetime_fitness!r} is not one of {', '.join(LIFETIME_FITNESS)}"),
        (ev.train_fitness in TRAIN_FITNESS, "evaluation.train_fitness",
         f"{ev.train_fitness!r} is not one of {', '.join(TRAIN_FITNESS)}"),
        (ev.max_steps >= 0, "evaluation.max_steps", "must be 0 (no cap) or positive"),
        (0 < evo.end_game_sigma <= 1, "evolution.end_game_sigma",
         "must be in (0, 1]"),
        (ev.train_max_steps >= 0, "evaluation.train_max_steps",
         "must be 0 (no cap) or positive"),
        (ev.w_max > 0, "evaluation.w_max", "must be positive"),
        (ev.train_reward_floor_until is None or ev.train_reward_floor is not None,
         "evaluation.train_reward_floor_until", "needs train_reward_floor (a floor to lift)"),
        (ev.train_max_steps_until is None or ev.train_max_steps > 0,
         "evaluation.train_max_steps_until", "needs train_max_steps (a cap to lift)"),
        (ev.train_max_steps_share is None or ev.train_max_steps > 0,
         "evaluation.train_max_steps_share", "needs train_max_steps (a cap to lift)"),
        (ev.train_max_steps_share is None or 0 < ev.train_max_steps_share <= 1,
         "evaluation.train_max_steps_share", "must be above 0 and at most 1"),
        (ev.simulator is None or ev.simulator in SIMULATORS, "evaluation.simulator",
         f"{ev.simulator!r} is not one of {', '.join(SIMULATORS)}"),
        (stop.final_simulator in SIMULATORS, "stop.final_simulator",
         f"{stop.final_simulator!r} is not one of {', '.join(SIMULATORS)}"),
        (ev.workers is None or ev.workers >= 0, "evaluation.workers",
         "must be 0 (in this process) or positive"),
        (ev.validation_episodes >= 0, "evaluation.validation_episodes", "must be 0 (off) or more"),
        (ev.validate_every >= 1, "evaluation.validate_every", "must be at least 1"),
        (ev.confirm_episodes == 0 or ev.confirm_episodes >= 2, "evaluation.confirm_episodes",
         "must be 0 (off) or at least 2 (a spread needs two lifetimes)"),
        (ev.confirm_limit >= ev.confirm_episodes, "evaluation.confirm_limit",
         "must be at least confirm_episodes"),
        (evo.popsize == 0 or evo.popsize >= 4, "evolution.popsize", "must be 0 or at least 4"),
        (evo.early_popsize is None or evo.early_popsize == 0 or evo.early_popsize >= 4,
         "evolution.early_popsize", "must be 0 (off) or at least 4"),
        (evo.sigma is None or evo.sigma > 0, "evolution.sigma", "must be positive"),
        (evo.stagnation >= 1, "evolution.stagnation", "must be at least 1"),
        (0 < evo.mean_rate <= 1, "evolution.mean_rate", "must be a share in (0, 1]"),
        (evo.rescue is None or 0 <= evo.rescue < 1, "evolution.rescue",
         "must be 0 (off) or a share below 1"),
        (evo.rescue_level is None or 0 <= evo.rescue_level <= 1, "evolution.rescue_level",
         "must be a share in [0, 1]"),
        (evo.early_level is None or 0 <= evo.early_level <= 1, "evolution.early_level",
         "must be a share in [0, 1]"),
        (evo.init in INITS or Path(evo.init).is_file(), "evolution.init",
         f"{evo.init!r} is neither one of {', '.join(INITS)} nor a genome file"),
        (evo.rescue_from is None or evo.rescue_from in RESCUE_FROM, "evolution.rescue_from",
         f"{evo.rescue_from!r} is not one of {', '.join(RESCUE_FROM)}"),
        (mig.interval >= 1, "migration.interval", "must be at least 1"),
        (mig.migrants >= 0, "migration.migrants", "must be 0 or positive"),
        (mig.max_injected >= 0, "migration.max_injected", "must be 0 or positive"),
        (stop.max_evals >= 0 and stop.max_generations >= 0 and stop.max_time >= 0
         and stop.max_cpu >= 0,
         "stop", "limits must be 0 (off) or positive"),
        (stop.default_max_evals >= 1, "stop.default_max_evals", "must be at least 1"),
        (run.checkpoint_every >= 1, "run.checkpoint_every", "must be at least 1"),
        (run.linger >= 0, "run.linger", "must be 0 (leave at once) or more seconds"),
    ]
    for ok, key, reason in checks:
        if not ok:
            flag = "" if "." not in key else f" (--{key.split('.')[1].replace('_', '-')})"
            raise ConfigError(f"{key}{flag}: {reason}")
    try:
        config.gossip.validate()
    except ValueError as exc:
        raise ConfigError(f"gossip: {exc}") from None
