"""A node's run from its first generation to its end: the loop, the stop, the final score.

`Node` (island/node.py) holds the parts of a started island; this drives them: one
generation after another until a stop criterion or a signal, then the checkpoint, the
run's best genome, the held-out score and, for a networked node, a last while answering
its peers before the goodbye. Whatever happens, the node is closed at the end. A write
the storage refuses (disk full, I/O error, quota, read-only) ends the run with one line
and exit 2: checkpoints are written in full before the old one moves (checkpoint.py),
so the last good checkpoint and best genome stay as they were.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

from envs import EvaluationAborted, WorkerDied
from island.checkpoint import STORAGE_ERRNOS
from island.progress import format_generation, format_held_out

if TYPE_CHECKING:
    from island.node import Node


class RunLoop:
    """Runs one node to its end; `run()` returns the process exit code."""

    def __init__(self, node: Node):
        self.node = node
        self.quiet = node.config.run.quiet

    def run(self) -> int:
        """Evolve until a stop criterion or a signal; always leave a checkpoint behind.
        0 when the run ended as asked, 2 when its storage refused a write."""
        try:
            return self._run()
        except OSError as exc:
            if exc.errno not in STORAGE_ERRNOS:
                raise
            where = exc.filename or self.node.run_dir.path
            self.say(f"stopped: cannot write {where}: {exc.strerror}; the last good "
                     "checkpoint and best genome are kept", err=True)
            return 2

    def _run(self) -> int:
        node = self.node
        node.restart_clock()
        try:
            finished = node.finished()
            if finished:
                self.say(f"run in {node.run_dir.path} already finished ({finished}); "
                         "pass another --run-dir or --fresh to start a new one", err=True)
            else:
                self.say(f"evolving on {node.envs.label} in {node.envs.simulator} until "
                         f"{node.stop.describe()}; "
                         f"run directory {node.run_dir.path}")
                finished = self._loop()
            self._finish(finished)
            self._linger(finished)
        finally:
            node.close()
        return 0

    def _loop(self) -> str | None:
        """Generations until a stop criterion (its reason) or a signal or lost worker (None)."""
        node, shutdown = self.node, self.node.shutdown
        finished = None
        while finished is None and not shutdown.requested:
            try:
                record = node.step()
            except EvaluationAborted:
                break
            except WorkerDied as exc:
                shutdown.request(str(exc))
                break
            node.run_dir.log(record.to_dict())
            node.flush_gossip_events()
            if not self.quiet:
                print(format_generation(record), flush=True)
            if node.island.generation % node.config.run.checkpoint_every == 0:
                node.checkpoint()
            if node.generations.lost_worker:
                shutdown.request(node.generations.lost_worker)
            finished = node.finished()
        return finished

    def _finish(self, finished: str | None) -> None:
        node = self.node
        reason = finished or node.shutdown.reason
        if node.outcome.unsaved:
            node.checkpoint()
        node.outcome.write_run_best()
        node.event("stopped", reason=reason, generation=node.island.generation,
                   evaluations=node.evaluations)
        if finished and node.config.stop.final_episodes and not node.stopping():
            # A signal during the final score ends it; the checkpoint is already safe.
            with contextlib.suppress(EvaluationAborted, WorkerDied):
                self._final_score()
        self.say(f"stopped ({reason}); best genome {node.outcome.path}")

    def _final_score(self) -> None:
        """Score the best genome on held-out seeds, so the run's result is an honest one."""
        node = self.node
        judge, own = node.judge()
        try:
            summary = node.outcome.final_score(judge, node.config.stop.final_episodes,
                                               node.stopping, node.config.stop.final_simulator)
        finally:
            if own:
                judge.close()
        for line in format_held_out(summary):
            self.say(line)

    def _linger(self, finished: str | None) -> None:
        """A networked node that finished answers a while longer before its goodbye: what
        dashboards and peers read last is its final status, with its held-out score."""
        if self.node.gossip is not None and finished:
            self.node.shutdown.wait(self.node.config.run.linger)

    def say(self, text: str, err: bool = False) -> None:
        if err or not self.quiet:
            print(f"island-node: {text}", file=sys.stderr if err else sys.stdout, flush=True)
