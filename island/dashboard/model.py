"""What the dashboard serves at `/api/nodes`: one typed view per node, and the archipelago."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ALIVE, SUSPECT, DEAD, STOPPED = "alive", "suspect", "dead", "stopped"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


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
        history = status.get("history") if isinstance(status.get("history"), dict) else {}
        return cls(
            node=str(reply.get("node") or status.get("node") or address),
            address=str(reply.get("address") or address), state=state, seen_ago=seen_ago,
            env=str(status.get("env", "")), kind=str(status.get("kind", "")),
            rule_family=str(status.get("rule_family", "")),
            generation=status.get("generation"), evaluations=status.get("evaluations"),
            evals_per_s=_number(status.get("evals_per_s")), best=_number(status.get("best")),
            mean=_number(status.get("mean")), champion=_number(status.get("champion")),
            held_out=_number(held.get("held_out_mean")),
            migrants_in=status.get("migrants_in"), migrants_out=status.get("migrants_out"),
            stop_reason=status.get("stop_reason") or (
                "its budget was nearly spent" if status.get("state") == "finishing" else None),
            peers=[str(p) for p in reply.get("peers") or []],
            rules={str(k): v for k, v in (status.get("rules") or {}).items()
                   if _number(v) is not None},
            history=history, flow=status.get("flow") or {},
            learning_curve=[v for v in curve if _number(v) is not None],
            error=status.get("error"),
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
