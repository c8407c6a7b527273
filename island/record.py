"""The records that cross a boundary, one type each: what a node writes and every tool reads.

- `GenerationRecord`: one generation, a line of `log.jsonl`.
- `Event` and its kinds: a line of `events.jsonl` (`EVENT_TYPES` maps each kind the island
  writes to its type; gossip's own events are gossip's types, gossip/events.py, and a line of
  neither reads as the bare `Event`).
- `GenomeMeta`: what `best.msgpack` says besides the genome: what scoring it again takes.
- `IslandStatus`, inside the `StatusReply` a node serves (`island-node status`, dashboard).

They are msgspec Structs: the writer builds the type (a missing or unknown field is a
TypeError where it is written), and a reader decodes into it with validation (msgspec.convert,
msgspec.json.decode), so a reader names `record.best`, never a key. A record this version
cannot read raises `RecordError`, one line that names the file and the field.
"""

from __future__ import annotations

import gzip
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import numpy as np

from gossip.events import GOSSIP_EVENT_TYPES, GossipEvent

# One event per confirmation batch of a champion, named by its outcome: passed (the run
# stops), not yet (another batch follows in the same round), or failed for this round (at
# its limit, or out of reach); the pool stays with the champion while it stays champion.
CONFIRMED, INCONCLUSIVE, FAILED = ("champion_confirmed", "confirmation_inconclusive",
                                   "confirmation_failed")
CONFIRMATION_EVENTS = (CONFIRMED, INCONCLUSIVE, FAILED)

T = TypeVar("T", bound=msgspec.Struct)


class RecordError(ValueError):
    """A record this version cannot read (another version's, or not a record at all)."""


class Record(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Unset optional fields are left out of the line."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/msgpack-ready fields (non-finite numbers as None, as JSON has none)."""
        return json_safe(msgspec.to_builtins(self))


class GenerationRecord(Record):
    """One generation of one island, as logged."""

    generation: int
    evaluations: int  # episode evaluations so far, champion rounds included
    best: float | None  # best training fitness ever sampled (None: not finite)
    gen_best: float | None  # best training fitness of this generation
    mean: float | None  # mean training fitness of this generation
    sigma: float  # CMA-ES step size
    popsize: int
    restarts: int  # IPOP restarts so far
    wall: float  # seconds of wall time so far (over resumes)
    steps: int  # environment steps so far in this process
    cpu: dict[str, float] = {}  # seconds: process, workers (start-up included), gossip
    champion: float | None = None  # the champion's last validation mean (champion rounds on)
    peers_alive: int | None = None  # the rest only for a networked node
    migrants_in: int | None = None
    migrants_out: int | None = None
    injected: int | None = None
    rules: dict[str, float] = {}  # rule of the genome the run backs
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

    @property
    def cpu_spent(self) -> float:
        """CPU seconds of the node process and its workers: what `--max-cpu` budgets (the
        gossip thread's share is in the process's)."""
        return self.cpu.get("process", 0.0) + self.cpu.get("workers", 0.0)


# -- events.jsonl -------------------------------------------------------------------------


class Event(Record):
    """One line of `events.jsonl`: when, and which kind (the subclasses add their fields)."""

    time: float
    event: str


class Stopped(Event):
    reason: str
    finished: bool  # its stop rule ended it (not a signal or a lost worker)
    generation: int
    evaluations: int


class EnvHeldOut(msgspec.Struct):
    """One environment's held-out score of a genome trained on several."""

    mean: float
    std: float
    normalised_mean: float
    curve: list[float]


class HeldOut(Event):
    """The run's best genome scored on held-out lifetimes (seeds training never draws)."""

    lifetimes: int
    episodes_per_lifetime: int
    lifetime_fitness: str
    held_out_mean: float
    held_out_std: float
    curve: list[float]  # mean return per episode of a lifetime
    envs: dict[str, EnvHeldOut] | None = None
    simulator: str | None = None
    training_best: float | None = None
    champion_validation: float | None = None
    confirmed_mean: float | None = None  # what stood behind was kept: its confirmation mean


class MigrantArrived(Event):
    """A migrant this island injected (`migrant_injected`) or dropped (`migrant_dropped`)."""

    origin: str
    sender: str
    role: str
    generation: int
    sent_generation: int
    claimed: float | None
    env: str | None
    outcome: str
    reason: str | None = None


class MigrantEvaluated(Event):
    """An injected migrant's own score in the generation it took part in."""

    origin: str
    outcome: str
    claimed: float | None
    measured: float | None
    became_best: bool
    generation: int


class ChampionRound(Event):
    generation: int
    changed: bool
    origin: str | None
    score: float | None
    lifetimes: int
    scores: dict[str, float]


class Champion(Event):
    """A new champion (its validation scores by candidate label)."""

    generation: int
    origin: str | None
    score: float | None
    scores: dict[str, float] = {}


class EndGame(Event):
    generation: int
    score: float | None
    episodes: int


class Confirmation(Event):
    """A confirmation batch: `event` is CONFIRMED, INCONCLUSIVE or FAILED."""

    generation: int
    round_score: float | None
    mean: float | None
    bound: float | None
    lifetimes: int
    target: float | None


class Kept(Event):
    """The champion's confirmed bound is the highest of the run: with `stand_on_confirmed`
    the run stands behind it until a bound beats it."""

    generation: int
    mean: float | None
    bound: float | None
    lifetimes: int


class Restart(Event):
    generation: int
    evaluations: int
    popsize: int
    reason: str | None = None


class StrategyReset(Event):
    generation: int
    reason: str | None = None


class Rescue(Event):
    generation: int
    evaluations: int
    popsize: int


class Resized(Event):
    """The early population gave way to `popsize`: a champion round left the plateau."""

    generation: int
    evaluations: int
    popsize: int
    score: float | None


class FloorLifted(Event):
    generation: int
    score: float | None


class CapLifted(Event):
    generation: int
    score: float | None  # the best champion round so far
    spent: float | None = None  # the share of the run's budget spent
    by: str = "round"  # what lifted it: a champion round's score, or the budget spent


class CheckpointDeferred(Event):
    generation: int
    reason: str | None


class CheckpointRejected(Event):
    reason: str


class FreshStart(Event):
    previous: str


class LogTruncated(Event):
    lines: int
    reason: str


class Resumed(Event):
    generation: int
    evaluations: int
    log_lines_dropped: int


class NodeStarted(Event):
    node: str
    address: str


class SettingsChanged(Event):
    changes: list[str]


# A line of events.jsonl: the island's event or gossip's own.
AnyEvent = Event | GossipEvent

EVENT_TYPES: dict[str, type[Event]] = {
    "stopped": Stopped, "held_out": HeldOut,
    "migrant_injected": MigrantArrived, "migrant_dropped": MigrantArrived,
    "migrant_evaluated": MigrantEvaluated, "champion_round": ChampionRound,
    "champion": Champion, "end_game": EndGame, "kept": Kept,
    **dict.fromkeys(CONFIRMATION_EVENTS, Confirmation),
    "restart": Restart, "strategy_reset": StrategyReset, "rescue": Rescue,
    "resized": Resized,
    "floor_lifted": FloorLifted, "cap_lifted": CapLifted, "checkpoint_deferred": CheckpointDeferred,
    "checkpoint_rejected": CheckpointRejected, "fresh_start": FreshStart,
    "log_truncated": LogTruncated, "resumed": Resumed, "node_started": NodeStarted,
    "settings_changed": SettingsChanged,
}


def make_event(kind: str, fields: dict[str, Any], when: float | None = None) -> Event:
    """The typed event of `kind` (one of EVENT_TYPES); TypeError for a missing or unknown field,
    RecordError for a value of the wrong type."""
    when = round(time.time(), 3) if when is None else when
    kind_type = EVENT_TYPES[kind]
    named = kind_type(time=when, event=kind, **json_safe(fields))  # names every field
    return convert(msgspec.to_builtins(named), kind_type, f"the {kind} event")  # nested types


# -- best.msgpack --------------------------------------------------------------------------


class GenomeMeta(Record, omit_defaults=False):
    """What a genome file says besides the genome: what scoring it again takes.

    The defaults are what files written before a field existed meant (the committed
    example genomes include such files)."""

    env: str | None = None  # the environment its network was sized for
    envs: list[str] = []  # every environment it was evolved on
    fitness: float | None = None
    chosen_by: str | None = None  # "validation" (champion rounds) or "training"
    generation: int | None = None
    evaluations: int | None = None
    node: str | None = None
    max_steps: int | None = None  # the episode cap it was evolved with
    lifetime: int = 1  # episodes per lifetime
    lifetime_fitness: str = "mean"
    w_max: float | None = None  # weight bound (None: the layout's default)
    episodes: int | None = None
    normalise_obs: bool = False  # older files: never
    simulator: str = "gymnasium"  # what stepped its training episodes


# -- status ---------------------------------------------------------------------------------


class StatusHistory(msgspec.Struct):
    """Columns and rows of a node's fitness over its run (at most a few hundred rows)."""

    columns: list[str] = []
    rows: list[list[float | None]] = []


class HeldOutScore(Record):
    """The held-out score in a status reply (the `held_out` event, less what a page needs not)."""

    held_out_mean: float | None = None
    held_out_std: float | None = None
    lifetimes: int | None = None
    curve: list[float] = []  # mean return per episode of a lifetime


class IslandStatus(Record):
    """What a node says of its island: identity, latest generation, rule, flow and state.

    The latest generation's fields are those of its GenerationRecord (rules apart); before
    the first generation they are unset. `error` alone: its status callback failed."""

    node: str | None = None
    env: str | None = None
    envs: list[str] = []  # every environment, for an island evolved on several
    kind: str | None = None
    rule_family: str | None = None
    layer_sizes: list[int] = []
    fingerprint: str | None = None
    state: str | None = None  # running, finishing, stopped
    stop_reason: str | None = None
    held_out: HeldOutScore | None = None
    evals_per_s: float | None = None
    rules: dict[str, float] = {}
    history: StatusHistory = msgspec.field(default_factory=StatusHistory)
    flow: dict[str, dict[str, int]] = {}  # origin -> outcome -> migrants
    error: str | None = None
    generation: int | None = None
    evaluations: int | None = None
    best: float | None = None
    gen_best: float | None = None
    mean: float | None = None
    sigma: float | None = None
    popsize: int | None = None
    restarts: int | None = None
    wall: float | None = None
    steps: int | None = None
    cpu: dict[str, float] = {}
    champion: float | None = None
    peers_alive: int | None = None
    migrants_in: int | None = None
    migrants_out: int | None = None
    injected: int | None = None
    env_scores: dict[str, float] | None = None


class StatusReply(msgspec.Struct, kw_only=True):
    """gossip's STATUS_REPLY body (gossip/status.py) with the island's status inside."""

    nonce: str = ""
    node: str = ""
    address: str = ""
    peers: list[str] = []
    counters: dict[str, int] = {}
    status: IslandStatus = msgspec.field(default_factory=IslandStatus)


# -- reading --------------------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """Plain JSON: non-finite floats as None, numpy scalars as Python numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return json_safe(value.item())
    return value


def convert(data: Any, kind: type[T], where: str = "a record") -> T:
    """`data` (decoded JSON or msgpack) as `kind`; RecordError, one line, if it is not one."""
    try:
        return msgspec.convert(data, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise RecordError(f"{where}: not a {kind.__name__} of this version ({exc})") from None


def salvage(data: Any, kind: Any) -> Any:
    """What of untrusted `data` is valid as `kind` (a Struct, list, dict or scalar type):
    a Struct keeps each field that converts, a list each item, a dict each entry; the rest
    is dropped (a Struct's fields to their defaults). None when nothing of it is valid.
    For replies of peers of any version (the dashboard): never raises."""
    value = _salvage(data, kind)
    return None if value is _INVALID else value


_INVALID = object()


def _salvage(data: Any, kind: Any) -> Any:
    origin = getattr(kind, "__origin__", None)
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        if not isinstance(data, dict):
            return _INVALID
        kept = {}
        for f in msgspec.structs.fields(kind):
            if f.encode_name in data:
                value = _salvage(data[f.encode_name], f.type)
                if value is not _INVALID:
                    kept[f.name] = value
        try:
            return kind(**kept)
        except TypeError:  # a required field was missing or invalid
            return _INVALID
    if origin is list:
        if not isinstance(data, list):
            return _INVALID
        (item,) = kind.__args__
        return [v for v in (_salvage(d, item) for d in data) if v is not _INVALID]
    if origin is dict:
        if not isinstance(data, dict):
            return _INVALID
        key, item = kind.__args__
        pairs = ((_salvage(k, key), _salvage(v, item)) for k, v in data.items())
        return {k: v for k, v in pairs if k is not _INVALID and v is not _INVALID}
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError:
        return _INVALID


def event_of(data: Any, where: str = "an event") -> AnyEvent:
    """One decoded events.jsonl line as its kind's type, the island's or gossip's (a kind of
    neither, an older version's: the bare Event)."""
    kind = data.get("event") if isinstance(data, dict) else None
    if not isinstance(kind, str):
        return convert(data, Event, where)
    return convert(data, EVENT_TYPES.get(kind) or GOSSIP_EVENT_TYPES.get(kind) or Event, where)


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """Decoded JSON lines, skipping a torn line left by a killed process; none if absent
    (a `.gz` file is read through gzip: logs kept with results are compressed)."""
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            for number, line in enumerate(fh, 1):
                try:
                    yield number, msgspec.json.decode(line)
                except msgspec.DecodeError:
                    continue
    except FileNotFoundError:
        return


def read_generations(path: str | Path) -> list[GenerationRecord]:
    """Every generation of a `log.jsonl`; RecordError names the first line it cannot read."""
    path = Path(path)
    return [convert(data, GenerationRecord, f"{path}:{n}") for n, data in json_lines(path)]


def read_events(path: str | Path) -> list[AnyEvent]:
    """Every event of an `events.jsonl`, each as its kind's type."""
    path = Path(path)
    return [event_of(data, f"{path}:{n}") for n, data in json_lines(path)]


def of_kind(events: list[AnyEvent], kind: type[T], *names: str) -> list[T]:
    """The events of type `kind` (and, given `names`, of those kinds only)."""
    return [e for e in events if isinstance(e, kind) and (not names or e.event in names)]
