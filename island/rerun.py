"""Which run a run directory holds: a rerun resumes its own run and never extends another.

A run that stopped on `--max-evals` was once extended without a word by a rerun with
other flags, which also overwrote its `config.toml`; and the README's second command
(`--env LunarLander-v3`) met the first one's CartPole checkpoint in the same directory
(issue 43). So the default run directory is named after what runs in it, a run's
settings (`config.toml`) are compared with a rerun's before anything is written, and a
rerun with other settings goes to a directory of its own, or, in one the user named, is
refused in one line. One change is a resume, not another run: new stop settings for a
run that had not finished (killed, or stopped by a signal), which then says so in its
events and its `config.toml`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from island.config import ConfigError, NodeConfig, load_toml
from island.record import Stopped, of_kind, read_events
from island.runlog import CONFIG, EVENTS

# What decides a run's course; where it writes, how it talks to peers and how many
# processes score it (`workers`) may change between a run and its resume.
RUN_SECTIONS = ("evaluation", "evolution", "migration", "stop")
FREE_KEYS = frozenset({"workers"})


def run_name(config: NodeConfig) -> str:
    """`CartPole-v1-weights+rules-hebbian`: what runs, as a directory name."""
    ev = config.evaluation
    envs = "+".join(ev.env_ids).replace("/", "_")
    return f"{envs}-{ev.kind}-{ev.rule_family}"


def settings(config: dict[str, Any]) -> dict[str, Any]:
    """The keys of a config (as `config.toml` holds it) that decide a run's course."""
    return {f"{section}.{key}": value for section in RUN_SECTIONS
            for key, value in config.get(section, {}).items() if key not in FREE_KEYS}


def changed_settings(run_dir: Path, config: NodeConfig) -> dict[str, str]:
    """`{"evolution.popsize": "popsize 22 -> 16"}` for each setting the run in `run_dir` ran
    with that `config` changes (none: a new directory, or the same run)."""
    path = run_dir / CONFIG
    if not path.exists():
        return {}
    try:
        before = settings(load_toml(path))
    except ConfigError as exc:
        return {"config": str(exc)}
    now = settings(config.to_dict())
    return {key: f"{key.split('.')[1]} {before.get(key, 'unset')} -> {now.get(key, 'unset')}"
            for key in sorted(before.keys() | now.keys()) if before.get(key) != now.get(key)}


def finished(run_dir: Path, generation: int | None = None) -> bool:
    """Whether the run in `run_dir` ended by its own stop rule (at `generation`, the
    checkpoint a rerun would resume; None: its latest), not by a kill or a signal."""
    stops = of_kind(read_events(run_dir / EVENTS), Stopped)
    return bool(stops and stops[-1].finished
                and generation in (None, stops[-1].generation))


def refused(run_dir: Path, config: NodeConfig, generation: int | None = None) -> list[str]:
    """The changes that would make a rerun with `config` another run than the one in
    `run_dir`: any, once it has finished; before, any but the stop settings."""
    changed = changed_settings(run_dir, config)
    if finished(run_dir, generation):
        return list(changed.values())
    return [text for key, text in changed.items() if not key.startswith("stop.")]


def default_run_dir(config: NodeConfig) -> Path:
    """`runs/<node id>/<run name>`, or the first `-2`, `-3`... beside it that is new or
    holds this same run: a rerun with other settings starts a directory of its own."""
    base = Path("runs") / config.run.node_id / run_name(config)
    candidate, n = base, 1
    while refused(candidate, config):
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate
