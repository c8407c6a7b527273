"""The run directory's lock: one node per run directory, for the node's whole life.

Two nodes on one directory interleaved their logs (the generation went backwards 87
times in 266 lines) and mixed their checkpoints (issue 12). The lock is an OS file
lock (`flock`) on `RUN_DIR/node.lock`: the kernel drops it when the holder dies, even
by SIGKILL, so a stale lock never blocks a restart. The holder writes its pid, host
and node id into the file so a refused node can say who holds it. `flock` is local to
a machine: a run directory on a network file system shared by two hosts is not
protected (use one run directory per host there, as the defaults do).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from pathlib import Path

LOCK_FILE = "node.lock"


class RunDirectoryError(RuntimeError):
    """A run directory this node cannot use; the message is one line for the user."""


class RunLock:
    """An exclusive lock of one run directory, held until `release()` (or the process ends)."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, run_dir: str | Path, node_id: str) -> RunLock:
        """Lock `run_dir` (creating it), or raise RunDirectoryError naming the holder."""
        run_dir = Path(run_dir)
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            # No O_TRUNC: the holder's line must survive a refused open.
            fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RunDirectoryError(f"run directory {run_dir} cannot be written: "
                                    f"{exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunDirectoryError(f"run directory {run_dir} is in use by {holder}; stop that "
                                    "node or pass another --run-dir") from None
        if not os.access(run_dir, os.W_OK):
            os.close(fd)
            raise RunDirectoryError(f"run directory {run_dir} is not writable")
        line = (f"pid {os.getpid()} on {socket.gethostname()} (node {node_id}, since "
                f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')})\n")
        os.ftruncate(fd, 0)
        os.pwrite(fd, line.encode(), 0)
        return cls(run_dir / LOCK_FILE, fd)

    def release(self) -> None:
        """Give the directory up (closing the file drops the lock); safe to call twice."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> str:
    text = os.pread(fd, 512, 0).decode("utf-8", "replace").strip()
    return text or "another process (it has not written its name yet)"
