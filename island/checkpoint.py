"""Atomic, checksummed checkpoints with one previous generation kept as a fallback.

A checkpoint is `MAGIC + sha256(payload) + payload` where the payload is a
pickle of the node's state (the CMA-ES object pickles as a whole; pycma
documents pickling for resuming). It is written to a temporary file, fsynced,
and renamed over the old one after the old one is kept as `.prev`, so a crash
at any point leaves at least one complete, verifiable checkpoint. Only our own
files are ever unpickled, never anything from the network.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

MAGIC = b"ISLANDCK1\n"
CURRENT = "checkpoint.pkl"
PREVIOUS = "checkpoint.prev.pkl"


class CheckpointError(ValueError):
    """A checkpoint file that is missing, truncated or corrupt."""


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` so that `path` holds either the old or the new bytes, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> Path:
    """Write a new checkpoint, keeping the last good one as the fallback."""
    payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    data = MAGIC + hashlib.sha256(payload).digest() + payload
    current = run_dir / CURRENT
    if current.exists():
        os.replace(current, run_dir / PREVIOUS)
    write_atomic(current, data)
    return current


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load and verify one checkpoint file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read: {exc}") from None
    header = len(MAGIC) + 32
    if len(data) < header or not data.startswith(MAGIC):
        raise CheckpointError(f"{path}: not a checkpoint (bad header or truncated)")
    digest, payload = data[len(MAGIC) : header], data[header:]
    if hashlib.sha256(payload).digest() != digest:
        raise CheckpointError(f"{path}: checksum mismatch (truncated or corrupt)")
    try:
        state = pickle.loads(payload)
    except Exception as exc:  # a verified payload that fails is a version mismatch
        raise CheckpointError(f"{path}: cannot load: {type(exc).__name__}: {exc}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: unexpected checkpoint content")
    return state


def load_latest(run_dir: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The newest good checkpoint (or None) and the problems met on the way, for the log."""
    problems: list[str] = []
    for name in (CURRENT, PREVIOUS):
        path = run_dir / name
        if not path.exists():
            continue
        try:
            return read_checkpoint(path), problems
        except CheckpointError as exc:
            problems.append(str(exc))
    return None, problems
