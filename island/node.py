"""One island node: evaluator, CMA-ES island, run directory and (optionally) gossip, in one loop.

Per generation (DESIGN.md, "Data flow"): inject admitted migrants, ask, score,
tell, log; every `interval` generations emit elites; every `checkpoint_every`
generations write a checkpoint. The worker pool is created before any ZeroMQ
context or thread exists.
"""

from __future__ import annotations

import hashlib
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from envs import (
    HELD_OUT_SEED_BASE,
    EvalSettings,
    EvaluationAborted,
    Evaluator,
    env_info,
    held_out_curves,
    lifetime_fitness,
)
from genome.codec import encode_genome
from genome.layout import initial_vector, named_rules, search_bounds
from genome.spec import GenomeSpec
from island.champion import Champion
from island.checkpoint import load_latest, save_checkpoint
from island.cmaes_island import Island
from island.config import NodeConfig
from island.migration import GRAFTED, INCOMPATIBLE, admit
from island.progress import format_generation
from island.runlog import RunDirectory
from island.status import NodeStatus

CHECKPOINT_VERSION = 1


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


@dataclass
class Counters:
    """Migration counters of this node, checkpointed with it."""

    received: int = 0
    accepted: int = 0
    grafted: int = 0
    incompatible: int = 0
    injected: int = 0
    over_cap: int = 0
    sent: int = 0
    became_best: int = 0
    by_origin: dict[str, int] = field(default_factory=dict)


class Node:
    """A running island; `run()` returns the process exit code."""

    def __init__(self, config: NodeConfig, networked: bool = False):
        resolve_identity(config, networked)
        self.config = config
        self.node_id = config.run.node_id
        ev = config.evaluation
        self.spec = spec_for(config)
        self.settings = EvalSettings(
            ev.env, self.spec, ev.max_steps or None, ev.lifetime_fitness, ev.w_max
        )
        self.run_dir = RunDirectory(config.run.run_dir)
        self.status = NodeStatus.follow(self.run_dir, self.node_id, ev.env, self.spec,
                                        config.stop)
        self._stop_reason: str | None = None
        self._pending: list[tuple[np.ndarray, Any, str]] = []
        self.counters = Counters()
        self.champion = Champion()
        self.wall_before = 0.0
        self.evaluations = 0  # episode evaluations
        self._saved_generation = -1  # generation of the newest checkpoint on disk
        self._written_best: tuple[int, float] | None = None  # what best.msgpack holds
        self._restore_or_start()
        self.run_dir.write_config(config.to_dict())
        # Worker processes first, ZeroMQ second (fork safety; DESIGN.md "Node runtime").
        self.evaluator = Evaluator(self.settings, ev.workers or None)
        self.gossip = None
        if networked:
            from gossip import Gossip

            self.gossip = Gossip(config.gossip, self.node_id, status=self.status.snapshot)
            self.gossip.start()
            self.run_dir.event("node_started", node=self.node_id, address=self.gossip.address)

    # -- state ---------------------------------------------------------------------------------

    def _restore_or_start(self) -> None:
        state, problems = load_latest(self.run_dir.path)
        for problem in problems:
            print(f"island-node: skipping bad checkpoint: {problem}", file=sys.stderr)
            self.run_dir.event("checkpoint_rejected", reason=problem)
        if state is not None:
            if state.get("fingerprint") != self.spec.fingerprint:
                raise SystemExit(
                    f"island-node: run directory {self.run_dir.path} holds a checkpoint of a "
                    f"different genome spec; use another --run-dir"
                )
            self.island: Island = state["island"]
            self.rng = np.random.default_rng()
            self.rng.bit_generator.state = state["rng"]
            self.evaluations = state["evaluations"]
            self.wall_before = state["wall"]
            self.counters = state["counters"]
            self.champion = state.get("champion") or Champion()
            self._saved_generation = self.island.generation
            self.run_dir.event("resumed", generation=self.island.generation,
                               evaluations=self.evaluations)
            return
        evo = self.config.evolution
        self.island = Island(
            initial_vector(self.spec), evo.sigma, evo.popsize, evo.seed, evo.sep_above,
            evo.restarts, evo.stagnation, evo.max_popsize, self.config.migration.max_injected,
            search_bounds(self.spec, self.settings.w_max),
        )
        self.rng = np.random.default_rng(evo.seed)

    def checkpoint(self) -> None:
        self._saved_generation = self.island.generation
        save_checkpoint(self.run_dir.path, {
            "version": CHECKPOINT_VERSION,
            "fingerprint": self.spec.fingerprint,
            "island": self.island,
            "rng": self.rng.bit_generator.state,
            "evaluations": self.evaluations,
            "wall": self.wall,
            "counters": self.counters,
            "champion": self.champion,
        })

    @property
    def wall(self) -> float:
        return self.wall_before + (time.monotonic() - self._started)

    @property
    def validating(self) -> bool:
        return self.config.evaluation.validation_episodes > 0

    def best(self) -> tuple[np.ndarray, float, int]:
        """The genome this run stands behind: the champion, or the best sample without one."""
        if self.validating and self.champion.x is not None:
            return self.champion.x, self.champion.score, self.champion.generation
        return self.island.best_x, self.island.best_fitness, self.island.best_generation

    def write_best(self) -> None:
        x, fitness, generation = self.best()
        if not np.isfinite(fitness) or self._written_best == (generation, fitness):
            return
        self._written_best = (generation, fitness)
        meta = {
            "env": self.settings.env_id, "fitness": fitness,
            "chosen_by": "validation" if self.validating else "training",
            "generation": generation, "evaluations": self.evaluations,
            "node": self.node_id, "max_steps": self.config.evaluation.max_steps,
            "lifetime": self.config.evaluation.lifetime,
            "lifetime_fitness": self.settings.lifetime_fitness, "w_max": self.settings.w_max,
            "episodes": self.config.evaluation.episodes,
        }
        self.run_dir.write_best(encode_genome(self.spec, x, meta))

    # -- migration -----------------------------------------------------------------------------

    def _receive(self) -> None:
        if self.gossip is None:
            return
        for migrant in self.gossip.drain():
            c = self.counters
            c.received += 1
            c.by_origin[migrant.origin] = c.by_origin.get(migrant.origin, 0) + 1
            admission = admit(self.spec, self.island.best_x, migrant.spec, migrant.x,
                              self.settings.w_max)
            record = dict(origin=migrant.origin, sender=migrant.sender,
                          generation=self.island.generation, sent_generation=migrant.generation,
                          claimed=migrant.claimed_fitness, env=migrant.env_id,
                          outcome=admission.outcome, reason=admission.reason)
            if admission.outcome == INCOMPATIBLE:
                c.incompatible += 1
                self.run_dir.event("migrant_dropped", **record)
                continue
            if self.island.inject([admission.x]) == 0:
                c.over_cap += 1
                self.run_dir.event("migrant_dropped", **{**record, "reason": "injection cap"})
                continue
            c.injected += 1
            if admission.outcome == GRAFTED:
                c.grafted += 1
            else:
                c.accepted += 1
            self._pending.append((admission.x, migrant, admission.outcome))
            self.run_dir.event("migrant_injected", **record)

    def _score_injected(self, X: np.ndarray, fitness: np.ndarray, improved: bool) -> None:
        """Record what each injected migrant measured here (its claim is never trusted)."""
        for x, migrant, outcome in self._pending:
            # pycma hands an injected solution back as mean + sigma * direction: equal up to
            # rounding, not bit for bit.
            distance = np.max(np.abs(X - x), axis=1)
            row = int(np.argmin(distance))
            if distance[row] > 1e-6 * (1.0 + np.max(np.abs(x))):
                continue
            measured = float(fitness[row])
            best = bool(improved and np.array_equal(self.island.best_x, X[row]))
            self.counters.became_best += best
            self.run_dir.event("migrant_evaluated", origin=migrant.origin, outcome=outcome,
                               claimed=migrant.claimed_fitness, measured=measured,
                               became_best=best, generation=self.island.generation)
        self._pending = []

    def _emit(self) -> None:
        if self.gossip is None or self.config.migration.migrants == 0:
            return
        from gossip import Migrant

        # A strategy that broke down can sample non-finite genomes; they never leave.
        elites = [e for e in self.island.elites(self.config.migration.migrants)
                  if np.all(np.isfinite(e.x))]
        self.gossip.emit([
            Migrant(origin=self.node_id, sender=self.node_id, spec=self.spec, x=e.x,
                    claimed_fitness=e.fitness, generation=e.generation, role="elite",
                    env_id=self.settings.env_id)
            for e in elites
        ])
        self.counters.sent += len(elites)

    def _flush_gossip_events(self) -> None:
        if self.gossip is None:
            return
        for event in self.gossip.events():
            self.run_dir.event(event.pop("event"), **event)

    # -- loop ----------------------------------------------------------------------------------

    def _stop_criterion(self) -> str | None:
        stop = self.config.stop
        if stop.target and self.best()[1] >= stop.target:
            return f"target {stop.target} reached"
        if stop.max_evals and self.evaluations >= stop.max_evals:
            return f"max_evals {stop.max_evals} reached"
        if stop.max_generations and self.island.generation >= stop.max_generations:
            return f"max_generations {stop.max_generations} reached"
        if stop.max_time and self.wall >= stop.max_time:
            return f"max_time {stop.max_time}s reached"
        return None

    def _champion_round(self) -> None:
        """Champion, CMA-ES mean and best recent sample on the same fresh training seeds."""
        n = self.config.evaluation.validation_episodes
        K = self.config.evaluation.lifetime
        labels, candidates = self.champion.candidates(self.island.mean)
        seeds = self.rng.integers(0, HELD_OUT_SEED_BASE, size=(n, K))
        scores = self.evaluator.evaluate(candidates, seeds,
                                         abort=lambda: self._stop_reason is not None)
        self.evaluations += len(candidates) * n * K
        if self.champion.decide(labels, candidates, scores, self.island.generation):
            self.run_dir.event("champion", generation=self.island.generation,
                               origin=self.champion.origin, score=self.champion.score,
                               **{f"score_{k}": float(v) for k, v in zip(labels, scores,
                                                                          strict=True)})

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._stop_reason = f"signal {signal.Signals(signum).name}"

    def step(self) -> dict[str, Any]:
        """One generation; returns its log record."""
        self._receive()
        resets = self.island.numerical_resets
        X = self.island.ask()
        ev = self.config.evaluation
        episodes = ev.episodes * ev.lifetime
        seeds = self.rng.integers(0, HELD_OUT_SEED_BASE, size=(ev.episodes, ev.lifetime))
        fitness = self.evaluator.evaluate(X, seeds, abort=lambda: self._stop_reason is not None)
        improved = self.island.tell(X, fitness)
        if self.island.numerical_resets != resets:
            self.run_dir.event("strategy_reset", generation=self.island.generation,
                               reason=self.island.last_failure)
        self.evaluations += len(X) * episodes
        self._score_injected(X, fitness, improved)
        generation = self.island.generation
        top = int(np.argmax(fitness))
        self.champion.observe(X[top], float(fitness[top]))
        if self.validating and generation % self.config.evaluation.validate_every == 0:
            self._champion_round()
        if generation % self.config.migration.interval == 0:
            self._emit()
        record = {
            "generation": generation, "evaluations": self.evaluations,
            "best": self.island.best_fitness, "gen_best": float(np.max(fitness)),
            "mean": float(np.mean(fitness)), "sigma": self.island.sigma,
            "popsize": len(X), "restarts": self.island.restarts, "wall": round(self.wall, 3),
            "steps": self.evaluator.steps,
        }
        if self.validating and self.champion.x is not None:
            record["champion"] = self.champion.score
        record["cpu"] = {"process": round(time.process_time(), 3),
                         "workers": round(self.evaluator.worker_cpu, 3)}
        if self.gossip is not None:
            record.update(peers_alive=len(self.gossip.peers()), migrants_in=self.counters.received,
                          migrants_out=self.counters.sent, injected=self.counters.injected)
            record["cpu"]["gossip"] = round(self.gossip.cpu_seconds(), 4)
        record["rules"] = named_rules(self.spec, self.best()[0])  # the genome the run stands behind
        return record

    def run(self) -> int:
        """Evolve until a stop criterion or a signal; always leave a checkpoint behind."""
        self._started = time.monotonic()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        quiet = self.config.run.quiet
        finished = self._stop_criterion()
        if finished:
            print(f"island-node: run in {self.run_dir.path} already finished ({finished}); "
                  "pass another --run-dir to start a new one", file=sys.stderr)
        try:
            while finished is None and self._stop_reason is None:
                try:
                    record = self.step()
                except EvaluationAborted:
                    break
                self.run_dir.log(record)
                self._flush_gossip_events()
                if not quiet:
                    print(format_generation(record), flush=True)
                if self.island.generation % self.config.run.checkpoint_every == 0:
                    self.checkpoint()
                    self.write_best()
                finished = self._stop_criterion()
            reason = finished or self._stop_reason
            if self.island.generation != self._saved_generation:
                self.checkpoint()
            self.write_best()
            self.run_dir.event("stopped", reason=reason, generation=self.island.generation,
                               evaluations=self.evaluations)
            if finished and self.config.stop.final_episodes:
                self._final_score()
            if not quiet:
                print(f"island-node: stopped ({reason}); run directory {self.run_dir.path}")
        finally:
            self.close()
        return 0

    def _final_score(self) -> None:
        """Score the best genome on held-out seeds, so the run's result is an honest one."""
        n = self.config.stop.final_episodes
        K = self.config.evaluation.lifetime
        curves = held_out_curves(self.evaluator, self.best()[0], n, K)
        returns = lifetime_fitness(curves, self.settings.lifetime_fitness)
        summary = {"held_out_mean": float(np.mean(returns)), "held_out_std": float(np.std(returns)),
                   "lifetimes": n, "episodes_per_lifetime": K,
                   "lifetime_fitness": self.settings.lifetime_fitness,
                   "curve": [round(float(v), 3) for v in curves.mean(axis=0)],
                   "training_best": self.island.best_fitness}
        if self.validating:
            summary["champion_validation"] = self.champion.score
        self.run_dir.event("held_out", **summary)
        if not self.config.run.quiet:
            print(f"island-node: best genome on {n} held-out lifetimes: "
                  f"{summary['held_out_mean']:.2f} +- {summary['held_out_std']:.2f}")
            if K > 1:
                curve = " ".join(f"{v:.0f}" for v in summary["curve"])
                print(f"island-node: within-lifetime learning curve (mean return by episode): "
                      f"{curve}")

    def close(self) -> None:
        if self.gossip is not None:
            self._flush_gossip_events()
            self.gossip.close()
            self.gossip = None
        self.evaluator.close()
        self.run_dir.close()
