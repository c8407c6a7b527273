"""The run directory of a node: resolved config, per-generation log, events, best genome.

Logs are JSON lines opened in append mode, so a resumed node continues the
same files; every line is flushed as it is written, so a killed node loses at
most the line in flight.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w

from island.checkpoint import write_atomic


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _json_safe(value.item())
    return value


class RunDirectory:
    """Appends to `log.jsonl` and `events.jsonl`; writes `config.toml` and `best.msgpack`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._log = open(self.path / "log.jsonl", "a", encoding="utf-8")
        self._events = open(self.path / "events.jsonl", "a", encoding="utf-8")
        self._observers: list[Callable[[str, dict[str, Any]], None]] = []

    def observe(self, observer: Callable[[str, dict[str, Any]], None]) -> None:
        """Also hand every record written to `observer(kind, record)`: "generation" or the event."""
        self._observers.append(observer)

    def write_config(self, config: dict[str, Any]) -> None:
        write_atomic(self.path / "config.toml", tomli_w.dumps(config).encode())

    def log(self, record: dict[str, Any]) -> None:
        safe = _json_safe(record)
        self._log.write(json.dumps(safe, separators=(",", ":")) + "\n")
        self._log.flush()
        for observer in self._observers:
            observer("generation", safe)

    def event(self, kind: str, **fields: Any) -> None:
        safe = _json_safe({"time": round(time.time(), 3), "event": kind, **fields})
        self._events.write(json.dumps(safe, separators=(",", ":")) + "\n")
        self._events.flush()
        for observer in self._observers:
            observer(kind, safe)

    def write_best(self, data: bytes) -> None:
        write_atomic(self.path / "best.msgpack", data)

    def close(self) -> None:
        self._log.close()
        self._events.close()


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file, skipping a torn last line left by a killed process."""
    records = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    except FileNotFoundError:
        return []
    return records
