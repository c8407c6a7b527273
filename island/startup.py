"""A node's start, in the only safe order: lock, read, start workers, bind, and only then write.

A second start on a busy port once rewrote the live node's `config.toml` and logged a
`resumed` event before failing (issue 12). Here every step that can fail comes before
the first write, each failure is one line (NodeStartError, exit 2), and whatever was
started by then (workers, sockets, the lock) is let go again.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from envs import EvalSettings, Evaluation, Evaluator
from genome.spec import GenomeSpec
from island.config import NodeConfig
from island.lock import RunDirectoryError, RunLock
from island.rerun import refused
from island.runlog import move_aside
from island.state import NodeState, load_latest


class NodeStartError(RuntimeError):
    """A node that cannot start; the message is one line for the user (exit code 2)."""


class EvaluatorLike(Protocol):
    """The surface of `envs.Evaluator` a node uses (tests pass a small fake)."""

    steps: int
    worker_cpu: float

    @property
    def env_ids(self) -> list[str]: ...

    def evaluate(self, X: np.ndarray, seeds: np.ndarray, floor: float | None = None,
                 cap: int | None = None) -> Evaluation: ...

    def episode_returns(self, X: np.ndarray, seeds: np.ndarray) -> np.ndarray: ...

    def close(self) -> None: ...


@dataclass
class Started:
    """What a successful start holds: the lock, the state to resume, workers, sockets."""

    lock: RunLock
    state: NodeState | None = None
    evaluator: EvaluatorLike | None = None
    gossip: Any = None
    problems: list[str] = field(default_factory=list)  # checkpoints skipped on the way
    aside: Path | None = None  # where --fresh moved the previous run's files


def start_events(started: Started, node_id: str, log_lines_dropped: int,
                 ) -> list[tuple[str, dict[str, Any]]]:
    """The events a start writes first: checkpoints skipped, the old run moved aside, a log
    cut back to the checkpoint (or dropped with none), and the address gossip bound."""
    events: list[tuple[str, dict[str, Any]]] = [
        ("checkpoint_rejected", {"reason": problem}) for problem in started.problems]
    if started.aside is not None:
        events.append(("fresh_start", {"previous": str(started.aside)}))
    state = started.state
    if state is None and log_lines_dropped:
        events.append(("log_truncated", {
            "lines": log_lines_dropped,
            "reason": "no checkpoint: the run starts again from generation 1"}))
    if state is not None:
        events.append(("resumed", {"generation": state.generation,
                                   "evaluations": state.evaluations,
                                   "log_lines_dropped": log_lines_dropped}))
    if started.gossip is not None:
        events.append(("node_started", {"node": node_id, "address": started.gossip.address}))
    return events


def start(config: NodeConfig, spec: GenomeSpec, settings: EvalSettings, networked: bool,
          fresh: bool, evaluator: Callable[[EvalSettings], EvaluatorLike] | None,
          status: Callable[[], dict[str, Any]]) -> Started:
    """Lock the run directory, read its checkpoint, start workers and gossip; then the
    directory may be written (`--fresh` moves the old run aside as the first write)."""
    path = Path(config.run.run_dir)
    try:
        lock = RunLock.acquire(path, config.run.node_id)
    except RunDirectoryError as exc:
        raise NodeStartError(str(exc)) from None
    started = Started(lock)
    try:
        started.state, started.problems = _restore(path, spec, fresh, config)
        # Workers first, ZeroMQ second (DESIGN.md, "Node runtime"; spawn makes either safe).
        started.evaluator = (evaluator or (lambda s: Evaluator(s, config.evaluation.workers)))(
            settings)
        if networked:
            started.gossip = _bind(config, status)
        if fresh:
            started.aside = move_aside(path)
    except BaseException:
        release(started)
        raise
    return started


def _restore(path: Path, spec: GenomeSpec, fresh: bool,
             config: NodeConfig) -> tuple[NodeState | None, list[str]]:
    """The checkpoint to resume, of a run with these settings; a directory whose
    checkpoints are all unusable stops us."""
    if fresh:
        return None, []
    state, problems = load_latest(path)
    if state is None and problems:
        raise NodeStartError(f"no usable checkpoint in {path} ({problems[0]}); pass --fresh "
                             "to start a new run there (the old files are moved aside)")
    for problem in problems:
        print(f"island-node: skipping bad checkpoint: {problem}", file=sys.stderr)
    if state is not None:
        _same_run(path, config, state.generation)
    if state is not None and state.fingerprint != spec.fingerprint:
        raise NodeStartError(f"run directory {path} holds a checkpoint of a different genome "
                             "spec; use another --run-dir")
    return state, problems


def _same_run(path: Path, config: NodeConfig, generation: int) -> None:
    """A rerun resumes its own run only: other settings would extend a run that was not
    theirs (island/rerun.py)."""
    changed = refused(path, config, generation)
    if changed:
        raise NodeStartError(f"run directory {path} holds a run with other settings "
                             f"({', '.join(changed)}); pass --fresh to start over there (its "
                             "files are moved aside) or another --run-dir")


def _bind(config: NodeConfig, status: Callable[[], dict[str, Any]]) -> Any:
    from gossip import Gossip

    try:
        gossip = Gossip(config.gossip, config.run.node_id, status=status)  # checks the node id
        gossip.start()  # reads the peers file and the keys, binds
    except (OSError, ValueError, TimeoutError) as exc:
        raise NodeStartError(str(exc)) from None
    return gossip


def release(started: Started) -> None:
    """Sockets, workers and the lock, each let go even if another fails."""
    try:
        if started.gossip is not None:
            started.gossip.close()
            started.gossip = None
    finally:
        try:
            if started.evaluator is not None:
                started.evaluator.close()
                started.evaluator = None
        finally:
            started.lock.release()
