"""What a node tells whoever asks (`island-node status`, `island-dashboard`).

The status is its latest generation record, a bounded history of its fitness, its
current rule, where its migrants came from and, once finished, its held-out score.
It is built only from the records the run directory writes (it observes them), so
status, log and report never disagree, and a resumed node reloads its history.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import msgspec

from genome.spec import GenomeSpec
from island.config import StopConfig
from island.record import (
    Event,
    GenerationRecord,
    HeldOut,
    HeldOutScore,
    IslandStatus,
    MigrantArrived,
    StatusHistory,
    Stopped,
    read_events,
    read_generations,
)
from island.runlog import EVENTS, LOG, RunDirectory
from island.stopping import StopCriteria

HISTORY_POINTS = 240  # ~13 kB of msgpack: far below a status reply's size limit
HISTORY_COLUMNS = ("generation", "evaluations", "wall", "best", "mean", "champion")
RATE_WINDOW = 10  # generations over which evaluations per second are measured
FLOW_OUTCOMES = ("accepted", "grafted", "dropped")
FINISHING_GENERATIONS, FINISHING_SECONDS = 3, 10.0  # "finishing": its budget ends within these


class History:
    """At most `limit` points spread over the whole run: when full, every other one goes."""

    def __init__(self, limit: int = HISTORY_POINTS):
        self.limit, self.stride, self._seen = limit, 1, 0
        self.rows: list[list[Any]] = []
        self.last: list[Any] | None = None

    def add(self, row: list[Any]) -> None:
        self.last = row
        if self._seen % self.stride == 0:
            self.rows.append(row)
            if len(self.rows) > self.limit:
                self.rows = self.rows[::2]
                self.stride *= 2
        self._seen += 1

    def snapshot(self) -> StatusHistory:
        """Columns and rows, the newest row always included."""
        rows = list(self.rows)
        if self.last is not None and (not rows or rows[-1] is not self.last):
            rows.append(self.last)
        return StatusHistory(columns=list(HISTORY_COLUMNS), rows=rows)


class NodeStatus:
    """The status of one node (an IslandStatus), rebuilt whenever its run directory records
    something.

    Written by the node's thread, read by the gossip thread: each update builds a new
    status and swaps the reference, so a reader always sees a whole one.
    """

    def __init__(self, node_id: str, env_id: str, spec: GenomeSpec,
                 stop: StopCriteria | StopConfig | None = None):
        self._stop = stop or StopConfig()
        self._identity = {
            "node": node_id, "env": env_id, "kind": spec.kind.value,
            "rule_family": spec.rule_family, "layer_sizes": list(spec.layer_sizes),
            "fingerprint": spec.fingerprint,
        }
        self._latest: GenerationRecord | None = None
        self._history = History()
        self._rates: deque[tuple[float, float]] = deque(maxlen=RATE_WINDOW + 1)
        self._flow: dict[str, dict[str, int]] = {}
        self._state = "running"
        self._stop_reason: str | None = None
        self._held_out: HeldOutScore | None = None
        self._status = IslandStatus(**self._identity, state=self._state)
        self._snapshot: dict[str, Any] = msgspec.to_builtins(self._status)

    @classmethod
    def follow(cls, run_dir: RunDirectory, node_id: str, env_id: str, spec: GenomeSpec,
               stop: StopCriteria | StopConfig | None = None) -> NodeStatus:
        """A status that has read what `run_dir` already holds and observes what it writes."""
        status = cls(node_id, env_id, spec, stop)
        for record in read_generations(run_dir.path / LOG):
            status.observe("generation", record)
        for event in read_events(run_dir.path / EVENTS):
            if not isinstance(event, Stopped):  # a resumed node runs again
                status.observe(event.event, event)
        run_dir.observe(status.observe)
        return status

    def snapshot(self) -> dict[str, Any]:
        """The current status as the reply carries it; safe to call from another thread."""
        return self._snapshot

    @property
    def current(self) -> IslandStatus:
        """The current status as its type."""
        return self._status

    def observe(self, kind: str, record: Event | GenerationRecord) -> None:
        """Take in one run-directory record: a generation or an event."""
        if isinstance(record, GenerationRecord):
            self._generation(record)
        elif isinstance(record, MigrantArrived):
            outcome = record.outcome if kind == "migrant_injected" else "dropped"
            if outcome not in FLOW_OUTCOMES:
                return
            counts = self._flow.setdefault(record.origin, dict.fromkeys(FLOW_OUTCOMES, 0))
            counts[outcome] += 1
        elif isinstance(record, Stopped):
            self._state, self._stop_reason = "stopped", record.reason
        elif isinstance(record, HeldOut):
            self._held_out = HeldOutScore(
                held_out_mean=record.held_out_mean, held_out_std=record.held_out_std,
                lifetimes=record.lifetimes, curve=record.curve)
        else:
            return
        self._rebuild()

    def _generation(self, record: GenerationRecord) -> None:
        self._latest = record
        self._history.add([getattr(record, k) for k in HISTORY_COLUMNS])
        evaluations, wall = record.evaluations, record.wall
        if self._rates and wall < self._rates[-1][1]:
            self._rates.clear()  # a resumed run's wall clock restarts from its checkpoint
        self._rates.append((float(evaluations), float(wall)))

    def _evals_per_second(self) -> float | None:
        if len(self._rates) < 2:
            return None
        (e0, w0), (e1, w1) = self._rates[0], self._rates[-1]
        return round((e1 - e0) / (w1 - w0), 2) if w1 > w0 else None

    def _finishing(self) -> bool:
        """Its stop budget ends within a few generations or seconds (a soon-silent node that
        was not killed: the dashboard tells the two apart by this)."""
        stop, latest = self._stop, self._latest
        if len(self._rates) < 2 or latest is None:
            return False
        (e0, w0), (e1, w1) = self._rates[-2], self._rates[-1]
        ahead = FINISHING_GENERATIONS
        if stop.max_generations and latest.generation + ahead >= stop.max_generations:
            return True
        if stop.max_evals and e1 + ahead * (e1 - e0) >= stop.max_evals:
            return True
        if stop.max_time and w1 + max(ahead * (w1 - w0), FINISHING_SECONDS) >= stop.max_time:
            return True
        score = latest.champion if latest.champion is not None else latest.best
        return bool(stop.target and score is not None and score >= stop.target)

    def _rebuild(self) -> None:
        state = self._state
        if state == "running" and self._finishing():
            state = "finishing"
        latest = {} if self._latest is None else {
            name: getattr(self._latest, name) for name in self._latest.__struct_fields__
            if name != "rules"}
        self._status = IslandStatus(
            **latest, **self._identity, state=state, stop_reason=self._stop_reason,
            held_out=self._held_out, evals_per_s=self._evals_per_second(),
            rules=dict(self._latest.rules) if self._latest is not None else {},
            history=self._history.snapshot(),
            flow={origin: dict(counts) for origin, counts in self._flow.items()})
        self._snapshot = msgspec.to_builtins(self._status)  # msgpack carries non-finite floats
