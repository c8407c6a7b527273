"""What the dashboard serves at `/api/nodes`: one typed view per node, and the archipelago."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

ALIVE, SUSPECT, DEAD, STOPPED = "alive", "suspect", "dead", "stopped"


MAX_ROWS = 2000  # of a node's history: what a page can draw


def _number(value: Any) -> float | None:
    """A finite number, or None (JSON has no NaN: a browser would refuse the whole view)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _history(value: Any) -> dict[str, Any]:
    """Columns and rows of numbers (or None), as the page expects; anything else is dropped."""
    if not isinstance(value, dict) or not isinstance(value.get("columns"), list):
        return {"columns": [], "rows": []}
    columns = [str(c) for c in value["columns"]]
    rows = [[_number(v) for v in row]
            for row in (value.get("rows") or [])[:MAX_ROWS]
            if isinstance(row, list) and len(row) == len(columns)]
    return {"columns": columns, "rows": rows}


def _envs(value: Any) -> str:
    """One environment id, or several (an island that trains on more than one)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value or "")


def _flow(value: Any) -> dict[str, dict[str, int]]:
    if not isinstance(value, dict):
        return {}
    return {str(origin): {str(k): n for k, n in counts.items() if _int(n) is not None}
            for origin, counts in value.items() if isinstance(counts, dict)}


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
    def from_reply(cls, address: str, reply: dict[str, Any], state: str,
                   seen_ago: float | None) -> NodeView:
        """Read a status reply defensively: a node of another version may lack any field."""
        status = reply.get("status") if isinstance(reply.get("status"), dict) else {}
        held = status.get("held_out") if isinstance(status.get("held_out"), dict) else {}
        curve = held.get("curve") or held.get("learning_curve") or []
        rules = status.get("rules") if isinstance(status.get("rules"), dict) else {}
        return cls(
            node=str(reply.get("node") or status.get("node") or address),
            address=str(reply.get("address") or address), state=state, seen_ago=seen_ago,
            env=_envs(status.get("envs") or status.get("env")), kind=str(status.get("kind", "")),
            rule_family=str(status.get("rule_family", "")),
            generation=_int(status.get("generation")), evaluations=_int(status.get("evaluations")),
            evals_per_s=_number(status.get("evals_per_s")), best=_number(status.get("best")),
            mean=_number(status.get("mean")), champion=_number(status.get("champion")),
            held_out=_number(held.get("held_out_mean")),
            migrants_in=_int(status.get("migrants_in")),
            migrants_out=_int(status.get("migrants_out")),
            stop_reason=str(status.get("stop_reason") or "") or (
                "its budget was nearly spent" if status.get("state") == "finishing" else None),
            peers=[str(p) for p in reply["peers"]] if isinstance(reply.get("peers"), list) else [],
            rules={str(k): _number(v) for k, v in rules.items() if _number(v) is not None},
            history=_history(status.get("history")), flow=_flow(status.get("flow")),
            learning_curve=[_number(v) for v in curve if _number(v) is not None]
            if isinstance(curve, list) else [],
            error=str(status["error"]) if status.get("error") else None,
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
