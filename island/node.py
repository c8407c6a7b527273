"""One island node: its start, its run until a stop criterion or a signal, and its end.

The parts each do one job: `startup` (lock, checkpoint, workers, bind, in that order,
before the first write), `Generations` (one generation as DESIGN.md's data flow:
`Migration`, ask/score/tell, `Champion` rounds, the `GenerationRecord`),
`StopCriteria`, the checkpoint document (`NodeState`), and `Outcome` (best.msgpack
and the held-out score). The node ties them to the run directory, signals, time and its
terminal, and drives them: one generation after another until a stop criterion or a
signal, then the checkpoint, the run's best genome, the held-out score and, for a
networked node, a last while answering its peers before the goodbye. Whatever happens,
the node is closed at the end. A write the storage refuses (disk full, I/O error, quota,
read-only) ends the run with one line and exit 2: checkpoints are written in full before
the old one moves (checkpoint.py), so the last good checkpoint and best genome stay as
they were.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from envs import EvalSettings, EvaluationAborted, WorkerDied
from genome.spec import GenomeSpec
from island.checkpoint import STORAGE_ERRNOS
from island.config import NodeConfig
from island.environments import TrainingEnvs, primary_info, resolve_simulator
from island.generation import Generations
from island.outcome import Outcome
from island.progress import format_event, format_generation, format_held_out, legend
from island.record import GenerationRecord
from island.rerun import changed_settings, default_run_dir
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
    """Fill in node id and seed where the config leaves them to us (the run directory
    follows once the sizes are known: island/rerun.py)."""
    run = config.run
    if not run.node_id:
        host = socket.gethostname().split(".")[0]
        port = config.gossip.bind.rsplit(":", 1)[-1] if networked else ""
        run.node_id = f"{host}-{port}" if port and port != "0" else host
    if config.evolution.seed < 0:
        digest = hashlib.sha256(run.node_id.encode()).digest()
        config.evolution.seed = int.from_bytes(digest[:4], "little") % (2**31 - 1)


class Node:
    """A running island; `run()` returns the process exit code."""

    # -- the start ------------------------------------------------------------------------------

    def __init__(self, config: NodeConfig, networked: bool = False, fresh: bool = False,
                 evaluator: Callable[[EvalSettings], EvaluatorLike] | None = None,
                 shutdown: Shutdown | None = None):
        resolve_identity(config, networked)
        self.config, self.node_id, self.quiet = config, config.run.node_id, config.run.quiet
        ev = config.evaluation
        self.envs = training_envs(config)  # a bad environment stops us here, in one line
        if not config.run.run_dir:
            config.run.run_dir = str(default_run_dir(config))
        self.spec, self.settings = self.envs.primary.spec, self.envs.primary
        self.stop = StopCriteria.from_config(config.stop, self.envs.label,
                                             self.envs.reward_threshold())
        self._own_evaluators = evaluator is None
        if evaluator is None:
            evaluator = lambda _settings: self.envs.evaluator(  # noqa: E731
                ev.workers, abort=self._stopping)
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
        # A resumed run keeps the settings it ran with, but for new stop settings of an
        # unfinished run (island/rerun.py), which it records.
        changed = {} if self._started.state is None else changed_settings(self.run_dir.path,
                                                                          config)
        self.changed = list(changed.values())
        if self._started.state is None or changed:
            self.run_dir.write_config(config.to_dict())
        for kind, fields in start_events(self._started, self.node_id, self.run_dir.dropped):
            self.event(kind, **fields)
        if changed:
            self.event("settings_changed", changes=list(changed.values()))

    def _adopt(self, state: NodeState | None) -> None:
        """Take over a resumed state, or make the first one."""
        self.state = state = state or NodeState.first(self.config, self.spec,
                                                      self.settings.w_max)
        self.generations = Generations(self.config, self.spec, self.settings, state,
                                       self.evaluator, self.gossip, self.event, self.stop)
        self.island, self.champion = state.island, self.generations.champion
        self.migration = self.generations.migration
        self._restart_clock()

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
    def wall(self) -> float:
        return self._wall_before + (time.monotonic() - self._clock)

    def _restart_clock(self) -> None:
        """Wall time counts from now on top of what the checkpoint had counted."""
        self._clock, self._wall_before = time.monotonic(), self.state.wall

    def _stopping(self) -> bool:
        """A signal or a lost worker asked the run to end."""
        return self.shutdown.requested

    def step(self) -> GenerationRecord:
        """One generation (island/generation.py); the status follows its log line."""
        return self.generations.step(lambda: self.wall)

    def checkpoint(self) -> None:
        """Write the checkpoint of the last completed generation, and the best genome."""
        self.outcome.checkpoint(self.wall)

    def _finished(self, cpu: float = 0.0) -> str | None:
        """The stop criterion that is met, if one is. `cpu` is this process's (a resumed
        process counts anew, so before its first generation no CPU cap is met)."""
        return self.stop.reason(self.generations.stop_score(), self.state.evaluations,
                                self.island.generation, self.wall, cpu)

    def _flush_gossip_events(self) -> None:
        """Write what the gossip thread has seen since the last call to the event log."""
        if self.gossip is not None:
            for event in self.gossip.events():
                self.run_dir.gossip_event(event)

    # -- the run --------------------------------------------------------------------------------

    def run(self) -> int:
        """Evolve until a stop criterion or a signal; always leave a checkpoint behind.
        0 when the run ended as asked, 2 when its storage refused a write."""
        try:
            return self._run()
        except OSError as exc:
            if exc.errno not in STORAGE_ERRNOS:
                raise
            where = exc.filename or self.run_dir.path
            self._say(f"stopped: cannot write {where}: {exc.strerror}; the last good "
                      "checkpoint and best genome are kept", err=True)
            return 2

    def _run(self) -> int:
        self._restart_clock()
        try:
            finished = self._finished()
            if finished:
                self._say(f"run in {self.run_dir.path} already finished ({finished}); "
                          "pass another --run-dir or --fresh to start a new one", err=True)
            else:
                self._introduce()
                finished = self._loop()
            self._finish(finished)
            self._linger(finished)
        finally:
            self.close()
        return 0

    def _introduce(self) -> None:
        """The first lines: what runs, its seed, what ends it, where it writes; a resume;
        the legend of the columns; from here on, a line for each event that says one."""
        ev, state = self.config.evaluation, self.state
        self._say(f"{self.envs.label} in {self.envs.simulator}, {self.spec.kind.value} "
                  f"({self.spec.rule_family}), seed {self.config.evolution.seed}; stops at "
                  f"{self.stop.describe()}; run directory {self.run_dir.path}")
        if state.generation:
            self._say(f"resumed from generation {state.generation} "
                      f"({state.evaluations:,} evaluations, {state.wall:.0f} s)"
                      + (f" with new stop settings: {', '.join(self.changed)}"
                         if self.changed else ""))
        if not self.quiet:
            print("\n".join(legend(ev.validation_episodes, ev.validate_every)), flush=True)
            self.run_dir.observe(self._print_event)

    @staticmethod
    def _print_event(kind: str, record: dict) -> None:
        line = format_event(kind, record)
        if line is not None:
            print(line, flush=True)

    def _loop(self) -> str | None:
        """Generations until a stop criterion (its reason) or a signal or lost worker (None)."""
        shutdown, finished = self.shutdown, None
        while finished is None and not shutdown.requested:
            try:
                record = self.step()
            except EvaluationAborted:
                break
            except WorkerDied as exc:
                shutdown.request(str(exc))
                break
            self.run_dir.log(record)
            spent = record.cpu_spent
            self._flush_gossip_events()
            if not self.quiet:
                cap = self.stop.progress(self.state.evaluations, record.generation, record.wall,
                                         spent)
                print(format_generation(record, cap), flush=True)
            if self.island.generation % self.config.run.checkpoint_every == 0:
                self.checkpoint()
            if self.generations.lost_worker:
                shutdown.request(self.generations.lost_worker)
            finished = self._finished(spent)
        return finished

    def _finish(self, finished: str | None) -> None:
        reason = finished or self.shutdown.reason
        if self.outcome.unsaved:
            self.checkpoint()
        self.outcome.write_run_best()
        self.event("stopped", reason=reason, finished=finished is not None,
                   generation=self.island.generation, evaluations=self.state.evaluations)
        if finished and self.config.stop.final_episodes and not self._stopping():
            # A signal during the final score ends it; the checkpoint is already safe.
            with contextlib.suppress(EvaluationAborted, WorkerDied):
                self._final_score()
        self._say(f"stopped ({reason}); best genome {self.outcome.path}")

    def _final_score(self) -> None:
        """Score the best genome on held-out seeds, so the run's result is an honest one."""
        stop = self.config.stop
        judge, own = self._judge()
        try:
            summary = self.outcome.final_score(judge, stop.final_episodes,
                                               stop.final_simulator)
        finally:
            if own:
                judge.close()
        for line in format_held_out(summary):
            self._say(line)

    def _judge(self) -> tuple[EvaluatorLike, bool]:
        """The evaluator of the final held-out score, in `stop.final_simulator` (gymnasium:
        a reported figure never depends on the simulator that trained), and whether it is a
        new one to close after; the training evaluator when it already simulates there (or
        when a test passed its own)."""
        final = self.config.stop.final_simulator
        if final == self.envs.simulator or not self._own_evaluators:
            return self.evaluator, False
        return self.envs.evaluator(self.config.evaluation.workers, final, self._stopping), True

    def _linger(self, finished: str | None) -> None:
        """A networked node that finished answers a while longer before its goodbye: what
        dashboards and peers read last is its final status, with its held-out score. One
        stopped by a signal does too, so a dashboard shows it `stopped` and why, not dead;
        another signal (a second Ctrl-C, a signal to the whole group) cuts that short."""
        if self.gossip is None:
            return
        if finished:
            self.shutdown.wait(self.config.run.linger)
        elif self.shutdown.signals:
            self.shutdown.wait_for_another(self.config.run.linger)

    def _say(self, text: str, err: bool = False) -> None:
        if err or not self.quiet:
            print(f"island-node: {text}", file=sys.stderr if err else sys.stdout, flush=True)

    # -- the end --------------------------------------------------------------------------------

    def close(self) -> None:
        try:
            if self.gossip is not None:
                self._flush_gossip_events()
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
