"""What every experiment here does with a finished run: score it once, keep the answer.

A command's JSON output is kept beside the run, so a re-run of an experiment reads it
instead of scoring again, and an interrupted experiment continues where it stopped.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from island.lab.rule_study import EvalReport
from island.record import GenerationRecord, HeldOut, convert, of_kind, read_events, read_generations

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


def finished(run: Path) -> bool:
    """A node that scored its champion at the end (it ran to its budget)."""
    return bool(of_kind(read_events(run / "events.jsonl"), HeldOut))


def started(run: Path) -> bool:
    return (run / "events.jsonl").exists() or (run / "log.jsonl").exists()


def json_of(command: list[str | Path], cache: Path) -> Any:
    """Run `command` (its stdout is JSON) unless `cache` already holds its answer."""
    if cache.exists():
        return json.loads(cache.read_text())
    out = subprocess.run([str(c) for c in command], check=True, capture_output=True, text=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(out.stdout)
    return json.loads(out.stdout)


def island_eval(genome: Path, cache: Path, episodes: int, held_out_start: int, workers: int,
                *extra: str) -> EvalReport:
    """`island-eval GENOME --json --compare 5` on held-out seeds from 2^31 + held_out_start."""
    return convert(json_of([BIN / "island-eval", genome, "--json", "--compare", "5",
                    "--episodes", str(episodes), "--held-out-start", str(held_out_start),
                    "--workers", str(workers), *extra], cache), EvalReport, str(cache))


def last_log(run: Path) -> GenerationRecord | None:
    """The run's last generation, None before its first."""
    log = read_generations(run / "log.jsonl")
    return log[-1] if log else None
