"""An experiment: several islands on this machine, each an `island-node` process.

The experiment file holds shared defaults in the sections of a node config and one
`[[island]]` table per island: a `name` and overrides as dotted section keys.

    [evaluation]
    env = "LunarLander-v3"

    [[island]]
    name = "hebbian"
    evolution.sigma = 0.3

    [[island]]
    name = "cart"
    evaluation.env = "CartPole-v1"

Addresses, peers files, run directories and node ids are set by the cluster, so an
experiment may not set `run.run_dir`, `run.node_id`, `gossip.bind`, `gossip.advertise`
or `gossip.peers`.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from island.config import SECTIONS, ConfigError, NodeConfig, config_from_mapping, load_toml
from island.progress import LiveProgress, format_rows, island_row

SET_BY_CLUSTER = {("run", "run_dir"), ("run", "node_id"), ("gossip", "bind"),
                  ("gossip", "advertise"), ("gossip", "peers")}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CLUSTER_DIR = "_cluster"  # generated configs, peers files and node output, beside the run dirs


@dataclass
class IslandPlan:
    """One island of an experiment: its name, merged settings and validated config."""

    name: str
    settings: dict[str, dict[str, Any]]
    config: NodeConfig


def merge(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Section tables of `overrides` laid over those of `defaults`, key by key."""
    merged = copy.deepcopy(defaults)
    for section, table in overrides.items():
        if isinstance(table, dict) and isinstance(merged.get(section), dict):
            merged[section] = {**merged[section], **copy.deepcopy(table)}
        else:
            merged[section] = copy.deepcopy(table)
    return merged


def _reject_cluster_keys(settings: dict[str, Any], where: str) -> None:
    for section, key in sorted(SET_BY_CLUSTER):
        table = settings.get(section)
        if isinstance(table, dict) and key in table:
            raise ConfigError(f"{where}: {section}.{key} is set by island-cluster; remove it")


def plan_experiment(values: dict[str, Any], source: str = "experiment") -> list[IslandPlan]:
    """Validate an experiment mapping; every error names the island and the key."""
    islands = values.get("island")
    if not isinstance(islands, list) or not islands:
        raise ConfigError(f"{source}: no [[island]] entries")
    defaults = {k: v for k, v in values.items() if k != "island"}
    for key in defaults:
        if key not in SECTIONS:
            raise ConfigError(f"{source}: unknown section [{key}]; known: island, "
                              f"{', '.join(SECTIONS)}")
    _reject_cluster_keys(defaults, source)
    plans: list[IslandPlan] = []
    for index, entry in enumerate(islands):
        name = entry.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise ConfigError(f"{source}: island #{index + 1} needs a name of letters, digits, "
                              f"'.', '_' or '-', got {name!r}")
        where = f"{source}: island {name!r}"
        if any(p.name == name for p in plans):
            raise ConfigError(f"{where}: the name is used twice")
        overrides = {k: v for k, v in entry.items() if k != "name"}
        for key, value in overrides.items():
            if key not in SECTIONS or not isinstance(value, dict):
                raise ConfigError(f"{where}: unknown key {key!r}; write overrides as "
                                  f"section.key, sections: {', '.join(SECTIONS)}")
        _reject_cluster_keys(overrides, where)
        settings = merge(defaults, overrides)
        plans.append(IslandPlan(name, settings, config_from_mapping(settings, where)))
    return plans


def load_experiment(path: str | Path) -> list[IslandPlan]:
    """Read and validate an experiment TOML file."""
    return plan_experiment(load_toml(path), str(path))


def free_ports(n: int) -> list[int]:
    """`n` distinct ports the OS reports free on 127.0.0.1 (bound to port 0, then released)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def node_script() -> str:
    """The `island-node` of this environment (next to the running interpreter)."""
    path = Path(sys.executable).parent / "island-node"
    if path.exists():
        return str(path)
    found = shutil.which("island-node")
    if not found:
        raise FileNotFoundError("island-node is not installed next to "
                                f"{sys.executable} nor on PATH")
    return found


def last_record(path: Path, tail: int = 16384) -> dict[str, Any] | None:
    """The last complete JSON line of a log, reading only the end of the file."""
    import json

    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - tail))
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        try:
            return json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
    return None


@dataclass
class IslandProcess:
    """A started island: its plan, address, run directory and process."""

    plan: IslandPlan
    address: str
    run_dir: Path
    output: Path
    proc: subprocess.Popen | None = None
    args: list[str] = field(default_factory=list)


class Cluster:
    """Starts every island of an experiment, reports progress, and stops them all."""

    def __init__(self, plans: list[IslandPlan], out: str | Path):
        self.out = Path(out)
        work = self.out / CLUSTER_DIR
        work.mkdir(parents=True, exist_ok=True)
        ports = free_ports(len(plans))
        addresses = [f"tcp://127.0.0.1:{port}" for port in ports]
        script = node_script()
        self.islands: list[IslandProcess] = []
        for plan, address in zip(plans, addresses, strict=True):
            config_file = work / f"{plan.name}.toml"
            settings = merge(plan.settings, {"run": {"quiet": True}})
            config_file.write_text(tomli_w.dumps(settings))
            peers_file = work / f"{plan.name}.peers"
            peers_file.write_text("".join(f"{a}\n" for a in addresses if a != address))
            island = IslandProcess(plan, address, self.out / plan.name, work / f"{plan.name}.out")
            island.args = [script, "--config", str(config_file), "--bind", address,
                           "--advertise", address, "--peers", str(peers_file),
                           "--run-dir", str(island.run_dir), "--node-id", plan.name]
            self.islands.append(island)

    def start(self) -> None:
        for island in self.islands:
            with open(island.output, "ab") as output:
                island.proc = subprocess.Popen(island.args, stdout=output,
                                               stderr=subprocess.STDOUT)

    def running(self) -> list[IslandProcess]:
        return [i for i in self.islands if i.proc is not None and i.proc.poll() is None]

    def progress_line(self, started: float) -> str:
        """One line: every island's best, evaluations and migrants in/out."""
        parts = [f"{time.monotonic() - started:6.0f}s"]
        for island in self.islands:
            record = last_record(island.run_dir / "log.jsonl") or {}
            code = island.proc.poll() if island.proc else None
            state = "" if code is None else f" [exit {code}]"
            best = record.get("best")
            best_text = f"{best:.1f}" if isinstance(best, int | float) else "-"
            parts.append(f"{island.plan.name}: best {best_text} evals "
                         f"{record.get('evaluations', 0)} mig {record.get('migrants_in', 0)}/"
                         f"{record.get('migrants_out', 0)}{state}")
        return " | ".join(parts)

    def progress_table(self) -> list[str]:
        """A header and one line per island: state, generation, evaluations, fitness, migrants."""
        return format_rows([
            island_row(i.plan.name, last_record(i.run_dir / "log.jsonl"),
                       i.proc.poll() if i.proc else None)
            for i in self.islands])

    def stop(self, grace: float) -> None:
        """SIGTERM every live island, then SIGKILL whatever is still running after `grace`."""
        for island in self.running():
            island.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for island in self.islands:
            if island.proc is None:
                continue
            try:
                island.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                island.proc.kill()
                island.proc.wait()

    def exit_codes(self) -> dict[str, int | None]:
        return {i.plan.name: (i.proc.returncode if i.proc else None) for i in self.islands}

    def run(self, refresh: float = 2.0, grace: float = 30.0, echo=print,
            progress: LiveProgress | None = None) -> int:
        """Run until every island stops by itself or a SIGINT/SIGTERM; 0 if all exited 0.

        With `progress`, its table is redrawn every `refresh` s; else `echo` gets lines.
        """
        def show() -> None:
            if progress is None:
                echo(self.progress_line(started))
            else:
                progress.update(self.progress_table(), self.progress_line(started))

        interrupted: list[int] = []

        def on_signal(signum: int, _frame: Any) -> None:
            interrupted.append(signum)

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        started = time.monotonic()
        try:
            self.start()
            for island in self.islands:
                echo(f"island-cluster: {island.plan.name} at {island.address} -> {island.run_dir}")
            if len(self.islands) > 1:
                echo("island-cluster: watch it live with island-dashboard --peers "
                     f"{self.out / CLUSTER_DIR / self.islands[0].plan.name}.peers")
            next_refresh = started + refresh
            while self.running() and not interrupted:
                time.sleep(0.1)
                if time.monotonic() >= next_refresh:
                    show()
                    next_refresh += refresh
            if interrupted:
                echo(f"island-cluster: {signal.Signals(interrupted[0]).name}, stopping islands")
        finally:
            self.stop(grace)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        show()
        codes = self.exit_codes()
        for island in self.islands:
            if codes[island.plan.name] != 0:
                tail = island.output.read_text(errors="replace")[-2000:] \
                    if island.output.exists() else ""
                echo(f"island-cluster: {island.plan.name} exited {codes[island.plan.name]}\n{tail}")
        return 0 if all(code == 0 for code in codes.values()) else 1
