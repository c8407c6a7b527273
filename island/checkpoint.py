"""Atomic, checksummed checkpoint files, with one previous generation kept as a fallback.

A checkpoint file is `MAGIC + sha256(payload) + payload`, the payload a msgpack map
(island/state.py documents it). The new one is written to a temporary file and
fsynced first; only then is the old one kept as `.prev` and the new one renamed
into place, so a crash or a full disk at any point leaves at least one complete,
verifiable checkpoint (a failed write removes its temporary file and touches
nothing else). The payload holds no
pickle except pycma's own strategy object, and only our own files are read.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from pathlib import Path
from typing import Any

import msgpack

MAGIC = b"ISLANDCK2\n"
CURRENT = "checkpoint.msgpack"
PREVIOUS = "checkpoint.prev.msgpack"
# Format 1 (before 2026-11) pickled the whole node; its files are named only to be refused.
OLDER = ("checkpoint.pkl", "checkpoint.prev.pkl")


# Errors of the storage under the run directory: the run cannot go on writing, so it stops
# (one line, exit 2) with its last good checkpoint and best genome as they were.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EROFS})
# Out of file descriptors (a flood of connections, issue 41): passes; the write is retried.
DESCRIPTOR_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE})


class CheckpointError(ValueError):
    """A checkpoint file that is missing, truncated, corrupt or of another version."""


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_synced(path: Path, data: bytes) -> Path:
    """`data` in a fsynced temporary file beside `path` (removed again if writing fails)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` so that `path` holds either the old or the new bytes, never a mix."""
    os.replace(write_synced(path, data), path)
    _fsync_dir(path.parent)


def save_checkpoint(run_dir: Path, document: dict[str, Any]) -> Path:
    """Write a new checkpoint, keeping the last good one as the fallback."""
    payload = msgpack.packb(document, use_bin_type=True)
    data = MAGIC + hashlib.sha256(payload).digest() + payload
    current = run_dir / CURRENT
    tmp = write_synced(current, data)  # new and synced before the old one moves
    if current.exists():
        os.replace(current, run_dir / PREVIOUS)
    os.replace(tmp, current)
    _fsync_dir(run_dir)
    return current


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load and verify one checkpoint file (its content is checked by island/state.py)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read: {exc.strerror or exc}") from None
    header = len(MAGIC) + 32
    if data.startswith(b"ISLANDCK") and not data.startswith(MAGIC):
        raise CheckpointError(f"{path}: written by an older version of island-network "
                              f"(format {data[:10].decode(errors='replace').strip()}, this "
                              f"version reads {MAGIC.decode().strip()}); start anew with --fresh")
    if len(data) < header or not data.startswith(MAGIC):
        raise CheckpointError(f"{path}: not a checkpoint (bad header or truncated)")
    digest, payload = data[len(MAGIC) : header], data[header:]
    if hashlib.sha256(payload).digest() != digest:
        raise CheckpointError(f"{path}: checksum mismatch (truncated or corrupt)")
    try:
        document = msgpack.unpackb(payload, raw=False, strict_map_key=False)
    except Exception as exc:  # a verified payload that fails was written by other code
        raise CheckpointError(f"{path}: cannot decode: {type(exc).__name__}: {exc}") from None
    if not isinstance(document, dict):
        raise CheckpointError(f"{path}: unexpected checkpoint content")
    return document


def checkpoint_files(run_dir: Path) -> list[Path]:
    """Every checkpoint file in `run_dir`, newest first (older formats' only to be refused)."""
    return [run_dir / n for n in (CURRENT, PREVIOUS, *OLDER) if (run_dir / n).exists()]
