"""One island node: the loop that ties evaluator, CMA-ES island, run directory and gossip.

Per generation (DESIGN.md, "Data flow"): inject admitted migrants, ask, score, tell,
log; every `interval` generations emit elites; every `checkpoint_every` generations
write a checkpoint. Its parts each do one job: `Migration` (island/migration.py),
`Champion` rounds (island/champion.py), `StopCriteria` (island/stopping.py), the
`GenerationRecord` (island/record.py), the checkpoint document (island/state.py).

Start-up writes nothing until it may: the run directory is locked, the checkpoint
read, the workers started and the socket bound first; any of them failing is one
line (NodeStartError) and the directory is left as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from envs import (
    HELD_OUT_SEED_BASE,
    EvalSettings,
    EvaluationAborted,
    Evaluator,
    WorkerDied,
    env_info,
    held_out_curves,
    lifetime_fitness,
)
from genome.codec import encode_genome
from genome.layout import initial_vector, named_rules, search_bounds
from genome.spec import GenomeSpec
from island.champion import Champion, champion_round
from island.cmaes_island import Island
from island.config import NodeConfig
from island.lock import RunDirectoryError, RunLock
from island.migration import Migration
from island.progress import format_generation
from island.record import GenerationRecord
from island.runlog import RunDirectory, move_aside
from island.shutdown import Shutdown
from island.state import NodeState, load_latest
from island.stopping import StopCriteria


class NodeStartError(RuntimeError):
    """A node that cannot start; the message is one line for the user (exit code 2)."""


class EvaluatorLike(Protocol):
    """The surface of `envs.Evaluator` the node uses (tests pass a small fake)."""

    steps: int
    worker_cpu: float

    def evaluate(self, X: np.ndarray, seeds: np.ndarray,
                 abort: Callable[[], bool] | None = None) -> np.ndarray: ...

    def episode_returns(self, X: np.ndarray, seeds: np.ndarray,
                        abort: Callable[[], bool] | None = None) -> np.ndarray: ...

    def close(self) -> None: ...


def spec_for(config: NodeConfig) -> GenomeSpec:
    """The genome spec of a node: network sized for its environment."""
    ev = config.evaluation
    info = env_info(ev.env)
    return GenomeSpec(ev.kind, (info.obs_dim, *ev.hidden, info.act_dim), ev.rule_family)


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
        self.spec = spec_for(config)
        self.settings = EvalSettings(ev.env, self.spec, ev.max_steps or None,
                                     ev.lifetime_fitness, ev.w_max)
        self.stop = StopCriteria.from_config(config.stop, ev.env,
                                             env_info(ev.env).reward_threshold)
        self._started = time.monotonic()
        # Signals end the run cleanly (workers forward theirs to this process).
        self.shutdown = shutdown or Shutdown().install()
        self._status: dict[str, Any] = {}
        self.gossip: Any = None
        self.evaluator: EvaluatorLike | None = None
        path = Path(config.run.run_dir)
        self.lock = self._lock(path)
        try:
            state = self._restore(path, fresh)
            self.evaluator = (evaluator or self._pool)(self.settings)
            if networked:
                self.gossip = self._bind()
            # From here on the directory is ours to write.
            aside = move_aside(path) if fresh else None
            self._adopt(state)
            self.run_dir = RunDirectory(path, self.state.generation)
        except BaseException:
            self._release()
            raise
        self.run_dir.write_config(config.to_dict())
        self._started_events(state, aside)

    # -- start-up, in order: lock, checkpoint, workers, socket, then the first write ------------

    def _lock(self, path: Path) -> RunLock:
        try:
            return RunLock.acquire(path, self.node_id)
        except RunDirectoryError as exc:
            raise NodeStartError(str(exc)) from None

    def _restore(self, path: Path, fresh: bool) -> NodeState | None:
        """The checkpoint to resume; a directory whose checkpoints are all unusable stops us."""
        state, problems = (None, []) if fresh else load_latest(path)
        self._problems = problems
        if state is None and problems:
            raise NodeStartError(f"no usable checkpoint in {path} ({problems[0]}); pass --fresh "
                                 "to start a new run there (the old files are moved aside)")
        for problem in problems:
            print(f"island-node: skipping bad checkpoint: {problem}", file=sys.stderr)
        if state is not None and state.fingerprint != self.spec.fingerprint:
            raise NodeStartError(f"run directory {path} holds a checkpoint of a different "
                                 "genome spec; use another --run-dir")
        return state

    def _pool(self, settings: EvalSettings) -> Evaluator:
        return Evaluator(settings, self.config.evaluation.workers or None)

    def _bind(self) -> Any:
        from gossip import Gossip

        gossip = Gossip(self.config.gossip, self.node_id, status=self.status_snapshot)
        try:
            gossip.start()  # reads the peers file and the keys, binds
        except (OSError, ValueError, TimeoutError) as exc:
            raise NodeStartError(str(exc)) from None
        return gossip

    def _adopt(self, state: NodeState | None) -> None:
        self._saved_generation = -1 if state is None else state.generation  # on disk
        if state is None:
            evo = self.config.evolution
            island = Island(
                initial_vector(self.spec), evo.sigma, evo.popsize, evo.seed, evo.sep_above,
                evo.restarts, evo.stagnation, evo.max_popsize,
                self.config.migration.max_injected, search_bounds(self.spec, self.settings.w_max),
            )
            state = NodeState(self.spec.fingerprint, island, np.random.default_rng(evo.seed))
        self.state = state
        self.island, self.rng = state.island, state.seeds
        self.champion = state.champion = state.champion or Champion()
        self.migration = Migration(self.spec, self.settings.w_max, self._event, state.migration)
        state.migration = self.migration.counters
        self._wall_before = state.wall
        self._written_best: tuple[int, float] | None = None

    def _started_events(self, state: NodeState | None, aside: Path | None) -> None:
        for problem in self._problems:
            self.run_dir.event("checkpoint_rejected", reason=problem)
        if aside is not None:
            self.run_dir.event("fresh_start", previous=str(aside))
        if state is not None:
            self.run_dir.event("resumed", generation=state.generation,
                               evaluations=state.evaluations,
                               log_lines_dropped=self.run_dir.dropped)
        if self.gossip is not None:
            self.run_dir.event("node_started", node=self.node_id, address=self.gossip.address)

    def _event(self, kind: str, **fields: Any) -> None:
        self.run_dir.event(kind, **fields)

    def status_snapshot(self) -> dict[str, Any]:
        """What `island-node status` answers (called from the gossip thread: a snapshot)."""
        return self._status

    # -- one generation -------------------------------------------------------------------------

    @property
    def evaluations(self) -> int:
        return self.state.evaluations

    @property
    def wall(self) -> float:
        return self._wall_before + (time.monotonic() - self._started)

    @property
    def validating(self) -> bool:
        return self.config.evaluation.validation_episodes > 0

    def _stopping(self) -> bool:
        return self.shutdown.requested

    def best(self) -> tuple[np.ndarray, float, int]:
        """The genome this run stands behind: the champion, or the best sample without one."""
        if self.validating and self.champion.x is not None:
            return self.champion.x, self.champion.score, self.champion.generation
        return self.island.best_x, self.island.best_fitness, self.island.best_generation

    def _seeds(self, lifetimes: int) -> np.ndarray:
        """Fresh training seeds, (lifetimes, episodes per lifetime)."""
        return self.rng.integers(0, HELD_OUT_SEED_BASE,
                                 size=(lifetimes, self.config.evaluation.lifetime))

    def _score(self, X: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        fitness = self.evaluator.evaluate(X, seeds, abort=self._stopping)
        self.state.evaluations += len(X) * seeds.size
        return fitness

    def step(self) -> GenerationRecord:
        """One generation: migrants in, ask, score, tell, champion round, elites out."""
        if self.gossip is not None:
            self.migration.receive(self.gossip.drain(), self.island)
        resets = self.island.numerical_resets
        population = self.island.ask()
        fitness = self._score(population.X, self._seeds(self.config.evaluation.episodes))
        improved = self.island.tell(population.X, fitness)
        if self.island.numerical_resets != resets:
            self._event("strategy_reset", generation=self.island.generation,
                        reason=self.island.last_failure)
        self.migration.measured(population, fitness, self.island, improved)
        generation = self.island.generation
        top = int(np.argmax(fitness))
        self.champion.observe(population.X[top], float(fitness[top]))
        if self.validating and generation % self.config.evaluation.validate_every == 0:
            self._champion_round()
        if self.gossip is not None and generation % self.config.migration.interval == 0:
            self.gossip.emit(self.migration.outgoing(self.island, self.config.migration.migrants,
                                                     self.node_id, self.settings.env_id))
        return self._record(len(population), fitness)

    def _champion_round(self) -> None:
        result = champion_round(self.champion, self.island.mean, self._score,
                                self._seeds(self.config.evaluation.validation_episodes),
                                self.island.generation)
        if result.changed:
            self._event("champion", generation=self.island.generation,
                        origin=self.champion.origin, score=self.champion.score,
                        **{f"score_{k}": float(v)
                           for k, v in zip(result.labels, result.scores, strict=True)})

    def _record(self, popsize: int, fitness: np.ndarray) -> GenerationRecord:
        c = self.migration.counters
        networked = self.gossip is not None
        record = GenerationRecord(
            generation=self.island.generation, evaluations=self.evaluations,
            best=self.island.best_fitness, gen_best=float(np.max(fitness)),
            mean=float(np.mean(fitness)), sigma=self.island.sigma, popsize=popsize,
            restarts=self.island.restarts, wall=round(self.wall, 3), steps=self.evaluator.steps,
            cpu={"process": round(time.process_time(), 3),
                 "workers": round(self.evaluator.worker_cpu, 3)},
            champion=self.champion.score if self.validating and self.champion.x is not None
            else None,
            peers_alive=len(self.gossip.peers()) if networked else None,
            migrants_in=c.received if networked else None,
            migrants_out=c.sent if networked else None,
            injected=c.injected if networked else None,
            rules=named_rules(self.spec, self.best()[0]),  # the genome the run stands behind
        )
        if networked:
            record.cpu["gossip"] = round(self.gossip.cpu_seconds(), 4)
        self._status = {k: v for k, v in record.to_dict().items() if k != "rules"} | {
            "node": self.node_id, "env": self.settings.env_id, "kind": self.spec.kind.value,
            "fingerprint": self.spec.fingerprint,
        }
        return record

    # -- the run --------------------------------------------------------------------------------

    def _finished(self) -> str | None:
        return self.stop.reason(self.best()[1], self.evaluations, self.island.generation,
                                self.wall)

    def run(self) -> int:
        """Evolve until a stop criterion or a signal; always leave a checkpoint behind."""
        self._started, self._wall_before = time.monotonic(), self.state.wall
        try:
            finished = self._finished()
            if finished:
                self._say(f"run in {self.run_dir.path} already finished ({finished}); "
                          "pass another --run-dir or --fresh to start a new one", err=True)
            else:
                self._say(f"evolving on {self.settings.env_id} until {self.stop.describe()}; "
                          f"run directory {self.run_dir.path}")
                finished = self._loop()
            self._finish(finished)
        finally:
            self.close()
        return 0

    def _loop(self) -> str | None:
        """Generations until a stop criterion (its reason) or a signal or lost worker (None)."""
        finished = None
        while finished is None and not self.shutdown.requested:
            try:
                record = self.step()
            except EvaluationAborted:
                break
            except WorkerDied as exc:
                self.shutdown.request(str(exc))
                break
            self.run_dir.log(record.to_dict())
            self._flush_gossip_events()
            if not self.config.run.quiet:
                print(format_generation(record), flush=True)
            if self.island.generation % self.config.run.checkpoint_every == 0:
                self.checkpoint()
            finished = self._finished()
        return finished

    def _finish(self, finished: str | None) -> None:
        reason = finished or self.shutdown.reason
        if self.island.generation != self._saved_generation:
            self.checkpoint()
        self._write_best()
        self._event("stopped", reason=reason, generation=self.island.generation,
                    evaluations=self.evaluations)
        if finished and self.config.stop.final_episodes and not self._stopping():
            # A signal during the final score ends it; the checkpoint is already safe.
            with contextlib.suppress(EvaluationAborted, WorkerDied):
                self._final_score()
        self._say(f"stopped ({reason}); best genome {self.run_dir.path / 'best.msgpack'}")

    def checkpoint(self) -> None:
        """Write the checkpoint of the last completed generation, and the best genome."""
        self.state.wall = self.wall
        self._saved_generation = self.island.generation
        self.state.save(self.run_dir.path)
        self._write_best()

    def _write_best(self) -> None:
        x, fitness, generation = self.best()
        if not np.isfinite(fitness) or self._written_best == (generation, fitness):
            return
        self._written_best = (generation, fitness)
        ev = self.config.evaluation
        meta = {
            "env": self.settings.env_id, "fitness": fitness,
            "chosen_by": "validation" if self.validating else "training",
            "generation": generation, "evaluations": self.evaluations, "node": self.node_id,
            "max_steps": ev.max_steps, "lifetime": ev.lifetime,
            "lifetime_fitness": self.settings.lifetime_fitness, "w_max": self.settings.w_max,
            "episodes": ev.episodes,
        }
        self.run_dir.write_best(encode_genome(self.spec, x, meta))

    def _final_score(self) -> None:
        """Score the best genome on held-out seeds, so the run's result is an honest one."""
        n, K = self.config.stop.final_episodes, self.config.evaluation.lifetime
        curves = held_out_curves(self.evaluator, self.best()[0], n, K)
        returns = lifetime_fitness(curves, self.settings.lifetime_fitness)
        summary = {"held_out_mean": float(np.mean(returns)), "held_out_std": float(np.std(returns)),
                   "lifetimes": n, "episodes_per_lifetime": K,
                   "lifetime_fitness": self.settings.lifetime_fitness,
                   "curve": [round(float(v), 3) for v in curves.mean(axis=0)],
                   "training_best": self.island.best_fitness}
        if self.validating:
            summary["champion_validation"] = self.champion.score
        self._event("held_out", **summary)
        self._say(f"best genome on {n} held-out lifetimes: "
                  f"{summary['held_out_mean']:.2f} +- {summary['held_out_std']:.2f}")
        if K > 1:
            curve = " ".join(f"{v:.0f}" for v in summary["curve"])
            self._say(f"within-lifetime learning curve (mean return by episode): {curve}")

    def _say(self, text: str, err: bool = False) -> None:
        if err or not self.config.run.quiet:
            print(f"island-node: {text}", file=sys.stderr if err else sys.stdout, flush=True)

    def _flush_gossip_events(self) -> None:
        if self.gossip is not None:
            for event in self.gossip.events():
                self._event(event.pop("event"), **event)

    def _release(self) -> None:
        """Workers, sockets and the lock, each let go even if another fails."""
        try:
            if self.gossip is not None:
                self.gossip.close()
                self.gossip = None
        finally:
            try:
                if self.evaluator is not None:
                    self.evaluator.close()
                    self.evaluator = None
            finally:
                self.lock.release()
                self.shutdown.restore()

    def close(self) -> None:
        if self.gossip is not None:
            self._flush_gossip_events()
        try:
            self._release()
        finally:
            self.run_dir.close()
