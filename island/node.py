"""One island node: its start, its run until a stop criterion or a signal, and its end.

The parts each do one job: `startup` (lock, checkpoint, workers, bind, in that order,
before the first write), `Generations` (one generation as DESIGN.md's data flow:
`Migration`, ask/score/tell, `Champion` rounds, the `GenerationRecord`),
`StopCriteria`, the checkpoint document (`NodeState`), and `Outcome` (best.msgpack
and the held-out score). The node ties them to the run directory, signals and time;
`RunLoop` (island/run_loop.py) drives it from its first generation to its end.
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from envs import EvalSettings
from genome.spec import GenomeSpec
from island.config import NodeConfig
from island.environments import TrainingEnvs, primary_info, resolve_simulator
from island.generation import Generations
from island.outcome import Outcome
from island.record import GenerationRecord
from island.run_loop import RunLoop
from island.runlog import RunDirectory
from island.shutdown import Shutdown
from island.sizing import resolve_search, resolve_sizes
from island.startup import EvaluatorLike, NodeStartError, release, start, start_events
from island.state import NodeState
from island.status import NodeStatus
from island.stopping import StopCriteria

__all__ = ["Node", "NodeStartError", "resolve_identity", "spec_for", "training_envs"]


def spec_for(config: NodeConfig) -> GenomeSpec:
    """The genome spec of a node: network sized for its (first) environment."""
    return training_envs(config).primary.spec


def training_envs(config: NodeConfig) -> TrainingEnvs:
    """The node's environments, with the sizes the config leaves unset filled in from the
    first of them (island/sizing.py); a bad environment raises naming it."""
    ev = config.evaluation
    resolve_simulator(ev)  # before the ids are looked up: envpool names its own close ids
    info = primary_info(ev)
    resolve_sizes(config, info)
    envs = TrainingEnvs.from_config(ev)
    resolve_search(config, info, envs.primary.spec.dim)
    return envs


def resolve_identity(config: NodeConfig, networked: bool) -> None:
    """Fill in node id, run dir and seed where the config leaves them to us."""
    run = config.run
    if not run.node_id:
        host = socket.gethostname().split(".")[0]
        port = config.gossip.bind.rsplit(":", 1)[-1] if networked else ""
        run.node_id = f"{host}-{port}" if port and port != "0" else host
    if not run.run_dir:
        run.run_dir = str(Path("runs") / run.node_id)
    if config.evolution.seed < 0:
        digest = hashlib.sha256(run.node_id.encode()).digest()
        config.evolution.seed = int.from_bytes(digest[:4], "little") % (2**31 - 1)


class Node:
    """A running island; `run()` returns the process exit code."""

    def __init__(self, config: NodeConfig, networked: bool = False, fresh: bool = False,
                 evaluator: Callable[[EvalSettings], EvaluatorLike] | None = None,
                 shutdown: Shutdown | None = None):
        resolve_identity(config, networked)
        self.config, self.node_id = config, config.run.node_id
        ev = config.evaluation
        self.envs = training_envs(config)  # a bad environment stops us here, in one line
        self.spec, self.settings = self.envs.primary.spec, self.envs.primary
        self.stop = StopCriteria.from_config(config.stop, self.envs.label,
                                             self.envs.reward_threshold())
        self._own_evaluators = evaluator is None
        if evaluator is None:
            evaluator = lambda _settings: self.envs.evaluator(ev.workers)  # noqa: E731
        # Signals end the run cleanly (workers forward theirs to this process).
        self.shutdown = shutdown or Shutdown().install()
        self.status: NodeStatus | None = None  # follows the run directory once it is opened
        try:
            self._started = start(config, self.spec, self.settings, networked, fresh, evaluator,
                                  self.status_snapshot)
        except BaseException:
            self.shutdown.restore()
            raise
        self.evaluator, self.gossip = self._started.evaluator, self._started.gossip
        self._adopt(self._started.state)
        try:  # from here on the run directory is ours to write
            self.run_dir = RunDirectory(config.run.run_dir, self.state.generation)
        except BaseException:
            release(self._started)
            self.shutdown.restore()
            raise
        self.status = NodeStatus.follow(self.run_dir, self.node_id, self.envs.label, self.spec,
                                        self.stop)
        resumed_at = -1 if self._started.state is None else self._started.state.generation
        self.outcome = Outcome(self.run_dir, self.spec, self.settings, ev, self.node_id,
                               self.envs.ids, self.generations, saved_generation=resumed_at)
        self.run_dir.write_config(config.to_dict())
        for kind, fields in start_events(self._started, self.node_id, self.run_dir.dropped):
            self.event(kind, **fields)

    def _adopt(self, state: NodeState | None) -> None:
        """Take over a resumed state, or make the first one."""
        self.state = state = state or NodeState.first(self.config, self.spec,
                                                      self.settings.w_max)
        self.generations = Generations(self.config, self.spec, self.settings, state,
                                       self.evaluator, self.gossip, self.event, self.stopping,
                                       self.stop)
        self.island, self.champion = state.island, self.generations.champion
        self.migration = self.generations.migration
        self.restart_clock()

    def event(self, kind: str, **fields: Any) -> None:
        """One line of the run's event log."""
        self.run_dir.event(kind, **fields)

    def status_snapshot(self) -> dict[str, Any]:
        """What `island-node status` answers (called from the gossip thread: a snapshot).

        Gossip binds before the run directory may be written, so before the status
        follows it there is nothing to tell."""
        return self.status.snapshot() if self.status is not None else {}

    # -- one generation -------------------------------------------------------------------------

    @property
    def evaluations(self) -> int:
        return self.state.evaluations

    @property
    def wall(self) -> float:
        return self._wall_before + (time.monotonic() - self._clock)

    def stopping(self) -> bool:
        """A signal or a lost worker asked the run to end."""
        return self.shutdown.requested

    def best(self) -> tuple[np.ndarray, float, int]:
        return self.generations.best()

    def step(self) -> GenerationRecord:
        """One generation (island/generation.py); the status follows its log line."""
        return self.generations.step(lambda: self.wall)

    # -- the run (island/run_loop.py drives it) -------------------------------------------------

    def run(self) -> int:
        """Evolve until a stop criterion or a signal; always leave a checkpoint behind."""
        return RunLoop(self).run()

    def judge(self) -> tuple[EvaluatorLike, bool]:
        """The evaluator of the final held-out score, in `stop.final_simulator` (gymnasium:
        a reported figure never depends on the simulator that trained), and whether it is a
        new one to close after; the training evaluator when it already simulates there (or
        when a test passed its own)."""
        final = self.config.stop.final_simulator
        if final == self.envs.simulator or not self._own_evaluators:
            return self.evaluator, False
        return self.envs.evaluator(self.config.evaluation.workers, final), True

    def restart_clock(self) -> None:
        """Wall time counts from now on top of what the checkpoint had counted."""
        self._clock, self._wall_before = time.monotonic(), self.state.wall

    def finished(self) -> str | None:
        """The stop criterion that is met, if one is."""
        return self.stop.reason(self.generations.stop_score(), self.evaluations,
                                self.island.generation, self.wall)

    def checkpoint(self) -> None:
        """Write the checkpoint of the last completed generation, and the best genome."""
        self.outcome.checkpoint(self.wall)

    def flush_gossip_events(self) -> None:
        """Write what the gossip thread has seen since the last call to the event log."""
        if self.gossip is not None:
            for event in self.gossip.events():
                self.event(event.pop("event"), **event)

    def close(self) -> None:
        try:
            if self.gossip is not None:
                self.flush_gossip_events()
        finally:
            self._release()

    def _release(self) -> None:
        """Stop workers and gossip and close the logs, even when the disk refuses a write."""
        try:
            release(self._started)
            self.evaluator = self.gossip = None
        finally:
            self.shutdown.restore()
            self.run_dir.close()
