"""What the dashboard serves at `/api/nodes`: one typed view per node, and the archipelago."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from island.record import HeldOutScore, StatusHistory, StatusReply

ALIVE, SUSPECT, DEAD, STOPPED = "alive", "suspect", "dead", "stopped"


MAX_ROWS = 2000  # of a node's history: what a page can draw


def _number(value: float | None) -> float | None:
    """A finite number, or None (JSON has no NaN: a browser would refuse the whole view)."""
    return float(value) if value is not None and math.isfinite(value) else None


def _history(history: StatusHistory) -> dict[str, Any]:
    """Columns and rows of numbers (or None), as the page expects; a ragged row is dropped."""
    columns = list(history.columns)
    rows = [[_number(v) for v in row] for row in history.rows[:MAX_ROWS]
            if len(row) == len(columns)]
    return {"columns": columns, "rows": rows}


@dataclass
class NodeView:
    """One node as last seen: identity, progress, rule, migration flow and liveness."""

    node: str
    address: str
    state: str
    seen_ago: float | None = None  # seconds since its last answer
    env: str = ""
    kind: str = ""
    rule_family: str = ""
    generation: int | None = None
    evaluations: int | None = None
    evals_per_s: float | None = None
    best: float | None = None
    mean: float | None = None
    champion: float | None = None
    held_out: float | None = None
    migrants_in: int | None = None
    migrants_out: int | None = None
    stop_reason: str | None = None
    peers: list[str] = field(default_factory=list)
    rules: dict[str, float] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    flow: dict[str, dict[str, int]] = field(default_factory=dict)
    learning_curve: list[float] = field(default_factory=list)
    error: str | None = None

    @classmethod
    def from_reply(cls, address: str, reply: StatusReply, state: str,
                   seen_ago: float | None) -> NodeView:
        """The view of a status reply (read with record.salvage: a node of another version,
        or a hostile one, loses the fields that are not this version's, not the view)."""
        status = reply.status
        held = status.held_out or HeldOutScore()
        return cls(
            node=reply.node or status.node or address, address=reply.address or address,
            state=state, seen_ago=seen_ago,
            env=", ".join(status.envs) if status.envs else status.env or "",
            kind=status.kind or "", rule_family=status.rule_family or "",
            generation=status.generation, evaluations=status.evaluations,
            evals_per_s=_number(status.evals_per_s), best=_number(status.best),
            mean=_number(status.mean), champion=_number(status.champion),
            held_out=_number(held.held_out_mean),
            migrants_in=status.migrants_in, migrants_out=status.migrants_out,
            stop_reason=status.stop_reason or (
                "its budget was nearly spent" if status.state == "finishing" else None),
            peers=list(reply.peers),
            rules={k: v for k, v in status.rules.items() if _number(v) is not None},
            history=_history(status.history), flow=status.flow,
            learning_curve=[v for v in held.curve if _number(v) is not None],
            error=status.error,
        )


@dataclass
class ArchipelagoView:
    """Every node ever reached, the addresses never reached, and when this was measured."""

    updated: float
    refresh: float
    nodes: list[NodeView]
    unreachable: list[str]

    @property
    def message(self) -> str:
        if not self.nodes:
            return "no nodes reachable"
        alive = sum(n.state == ALIVE for n in self.nodes)
        return f"{len(self.nodes)} nodes, {alive} alive"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message}
