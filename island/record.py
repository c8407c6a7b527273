"""The record of one generation: what `log.jsonl` holds, one line each.

The log, the progress line, the status reply and the report all read this one
type, so a field is named, typed and documented here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# One event per confirmation batch of a champion, named by its outcome: passed (the run
# stops), not yet (another batch follows in the same round), or failed for this round (at
# its limit, or out of reach); the pool stays with the champion while it stays champion.
CONFIRMED, INCONCLUSIVE, FAILED = ("champion_confirmed", "confirmation_inconclusive",
                                   "confirmation_failed")
CONFIRMATION_EVENTS = (CONFIRMED, INCONCLUSIVE, FAILED)


@dataclass
class GenerationRecord:
    """One generation of one island, as logged."""

    generation: int
    evaluations: int  # episode evaluations so far, champion rounds included
    best: float  # best training fitness ever sampled
    gen_best: float  # best training fitness of this generation
    mean: float  # mean training fitness of this generation
    sigma: float  # CMA-ES step size
    popsize: int
    restarts: int  # IPOP restarts so far
    wall: float  # seconds of wall time so far (over resumes)
    steps: int  # environment steps so far in this process
    cpu: dict[str, float] = field(default_factory=dict)  # seconds: process, workers, gossip
    champion: float | None = None  # the champion's last validation mean (champion rounds on)
    peers_alive: int | None = None  # the rest only for a networked node
    migrants_in: int | None = None
    migrants_out: int | None = None
    injected: int | None = None
    rules: dict[str, float] = field(default_factory=dict)  # rule of the genome the run backs
    # Several environments: the generation's best genome's normalised score in each.
    env_scores: dict[str, float] | None = None

    @classmethod
    def measure(cls, island: Any, fitness: np.ndarray, popsize: int, evaluations: int,
                wall: float, evaluator: Any, champion: float | None, rules: dict[str, float],
                gossip: Any = None, migration: Any = None,
                env_scores: dict[str, float] | None = None) -> GenerationRecord:
        """The record of the generation `island` (an Island) was just told `fitness` of."""
        record = cls(
            generation=island.generation, evaluations=evaluations, best=island.best.fitness,
            gen_best=float(np.max(fitness)), mean=float(np.mean(fitness)), sigma=island.sigma,
            popsize=popsize, restarts=island.restarts, wall=wall, steps=evaluator.steps,
            cpu={"process": round(time.process_time(), 3),
                 "workers": round(evaluator.worker_cpu, 3)},
            champion=champion, rules=rules, env_scores=env_scores)
        if gossip is not None:
            record.peers_alive = len(gossip.peers())
            record.migrants_in, record.migrants_out = migration.received, migration.sent
            record.injected = migration.injected
            record.cpu["gossip"] = round(gossip.cpu_seconds(), 4)
        return record

    def to_dict(self) -> dict[str, Any]:
        """The log line's fields; unset optional ones are left out."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationRecord:
        """A record from a log line; unknown keys (other versions) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
