"""The run directory of a node: resolved config, per-generation log, events, best genome.

Logs are JSON lines opened in append mode, so a resumed node continues the
same files; every line is flushed as it is written, so a killed node loses at
most the line in flight. A node killed after its last checkpoint logged
generations it will run again: on resume, lines past the checkpoint's generation
are cut, so every generation appears once. A RunDirectory is made only once the
node holds the directory's lock (island/lock.py) and has bound its socket.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import tomli_w

from gossip.events import GossipEvent
from island.checkpoint import CURRENT as CHECKPOINT
from island.checkpoint import OLDER, PREVIOUS, write_atomic
from island.record import (
    AnyEvent,
    Event,
    GenerationRecord,
    convert,
    json_safe,
    make_event,
    read_events,
)

LOG, EVENTS, CONFIG, BEST = "log.jsonl", "events.jsonl", "config.toml", "best.msgpack"
RUN_FILES = (LOG, EVENTS, CONFIG, BEST, CHECKPOINT, PREVIOUS, *OLDER)


class RunDirectory:
    """Appends to `log.jsonl` and `events.jsonl`; writes `config.toml` and `best.msgpack`."""

    def __init__(self, path: str | Path, resume_generation: int = 0):
        """Open the logs; a resumed run's log is cut after `resume_generation`. RecordError
        (one line) when either log holds a record of another version."""
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.dropped = truncate_log(self.path / LOG, resume_generation)
        read_events(self.path / EVENTS)  # fails here, before anything is appended
        self._log = open(self.path / LOG, "a", encoding="utf-8")
        self._events = open(self.path / EVENTS, "a", encoding="utf-8")
        self._observers: list[Callable[[str, dict[str, Any]], None]] = []

    def observe(self, observer: Callable[[str, AnyEvent | GenerationRecord], None]) -> None:
        """Also hand every record written to `observer(kind, record)`: "generation" and its
        GenerationRecord, or the event's kind and its Event."""
        self._observers.append(observer)

    def write_config(self, config: dict[str, Any]) -> None:
        write_atomic(self.path / CONFIG, tomli_w.dumps(config).encode())

    def log(self, record: GenerationRecord) -> None:
        """One line of log.jsonl; observers get the record as a reader gets it back
        (non-finite numbers as None)."""
        plain = record.to_dict()
        self._log.write(json.dumps(plain, separators=(",", ":")) + "\n")
        self._log.flush()
        logged = convert(plain, GenerationRecord, "a generation to log")
        for observer in self._observers:
            observer("generation", logged)

    def event(self, kind: str, **fields: Any) -> Event:
        """One line of events.jsonl through its kind's type (record.EVENT_TYPES)."""
        typed = make_event(kind, fields, round(time.time(), 3))
        self._write_event(typed)
        return typed

    def gossip_event(self, event: GossipEvent) -> None:
        """One of gossip's own events (gossip/events.py), as gossip made it."""
        self._write_event(event)

    def _write_event(self, event: AnyEvent) -> None:
        line = json_safe(msgspec.to_builtins(event))
        self._events.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._events.flush()
        for observer in self._observers:
            observer(event.event, event)

    def write_best(self, data: bytes) -> None:
        write_atomic(self.path / BEST, data)

    def close(self) -> None:
        try:
            self._log.close()  # flushes: may meet a full disk, the other closes all the same
        finally:
            self._events.close()


def truncate_log(path: Path, generation: int) -> int:
    """Keep the log's records up to `generation` (and no torn line); returns lines dropped.
    RecordError: a line is not a generation record of this version."""
    if not path.exists():
        return 0
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = []
    for number, line in enumerate(lines, 1):
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn line
        if convert(data, GenerationRecord, f"{path}:{number}").generation <= generation:
            kept.append(line)
    if len(kept) != len(lines):
        write_atomic(path, "".join(line + "\n" for line in kept).encode())
    return len(lines) - len(kept)


def move_aside(run_dir: Path) -> Path | None:
    """Move a previous run's files into `run_dir/previous-TIMESTAMP/` (for `--fresh`)."""
    present = [run_dir / name for name in RUN_FILES if (run_dir / name).exists()]
    if not present:
        return None
    target = run_dir / time.strftime("previous-%Y%m%d-%H%M%S")
    n = 1
    while target.exists():
        target, n = run_dir / f"{target.name.split('.')[0]}.{n}", n + 1
    target.mkdir()
    for path in present:
        os.replace(path, target / path.name)
    return target
