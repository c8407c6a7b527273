"""Worker processes that score chunks of genomes, and always end when the node does.

`multiprocessing.Pool` hung 4 of 7 trials when SIGTERM reached every process of a
node (issue 12): workers killed mid-task left `Pool.terminate` waiting on threads
that replace dead workers. This pool is a list of plain processes, one socket each:
- workers ignore SIGINT/SIGTERM and forward them to the node (a signal to any
  process of a node stops the node, once, through its own handler);
- workers die with the node: PR_SET_PDEATHSIG on Linux, a watchdog thread
  elsewhere, and end quietly when their socket closes;
- `close` asks idle workers to leave, kills busy ones, and never waits long.
Each worker is a fresh interpreter (envs/worker.py's `serve`, safe after ZeroMQ
threads exist) talking over a socket pair. Not `multiprocessing`'s spawn: it adds a
resource-tracker process that ignores SIGTERM (a signal to it would not stop the node)
and re-imports the caller's main module in every worker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from envs.worker import STOP_SIGNALS

# Not `-m envs.worker`: envs imports envs.worker first, and runpy warns of running it twice.
# `python -c` puts the working directory first on sys.path, so a worker started elsewhere
# could import another copy of the project (seen: a snapshot's node whose workers scored
# with the checkout's code); it puts the directory the node's own `envs` came from first.
WORKER = ("import sys; sys.path.insert(0, sys.argv[3]); from envs.worker import serve; "
          "serve(int(sys.argv[1]), int(sys.argv[2]))")
SOURCE_ROOT = str(Path(__file__).resolve().parent.parent)  # the directory holding `envs`
POLL_S = 0.1
LEAVE_S = 1.0  # an idle worker has this long to leave before it is killed


class WorkerDied(RuntimeError):
    """A worker process ended while the node still needed it (killed, or out of memory)."""


class WorkerError(RuntimeError):
    """A task raised in a worker; the message carries the worker's traceback."""


class Aborted(RuntimeError):
    """The caller asked to stop while chunks were being scored."""


class WorkerPool:
    """`map(jobs)` over `n` worker processes; `close()` always returns within seconds."""

    def __init__(self, n: int, setup: Callable[[Any], Any], task: Callable[[Any, Any], Any],
                 settings: Any):
        self._procs: list[subprocess.Popen] = []
        self._conns: list[Connection] = []
        self._busy: dict[int, int] = {}  # worker -> job it is scoring
        # Workers start with SIGINT/SIGTERM blocked (the mask survives exec), so a group
        # signal in their first second stays pending until they forward it, not kills them.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            for _ in range(n):
                ours, theirs = socket.socketpair()
                with theirs:
                    fd = theirs.fileno()
                    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(fd),
                                             str(os.getpid()), SOURCE_ROOT], pass_fds=(fd,),
                                            stdin=subprocess.DEVNULL)
                conn = Connection(ours.detach())
                self._procs.append(proc)
                self._conns.append(conn)
                with contextlib.suppress(OSError):  # a worker that died at once: map says so
                    conn.send((setup, task, settings))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    def map(self, jobs: list[Any], abort: Callable[[], bool] | None = None) -> list[Any]:
        """Results of `task` for each job, in order; one job per idle worker at a time.

        Raises Aborted when `abort()` turns true (busy workers are killed: an episode
        cannot be interrupted cleanly), WorkerDied when a worker ends and WorkerError when
        a task raises; the pool is closed after any of them.
        """
        if not self._procs:
            raise WorkerDied("the worker pool is closed")
        results: list[Any] = [None] * len(jobs)
        todo = list(range(len(jobs)))[::-1]
        busy = self._busy
        while todo or busy:
            for w in range(len(self._procs)):
                if w not in busy and todo:
                    busy[w] = todo.pop()
                    self._send(w, jobs[busy[w]])
            ready = wait([self._conns[w] for w in busy], timeout=POLL_S)  # EOF when one dies
            if abort is not None and abort():
                self.close()
                raise Aborted("evaluation abandoned on request")
            for w in list(busy):
                if self._conns[w] in ready:
                    ok, value = self._receive(w)
                    if not ok:
                        self.close()
                        raise WorkerError(f"evaluation worker failed:\n{value}")
                    results[busy.pop(w)] = value
        return results

    def _send(self, w: int, job: Any) -> None:
        try:
            self._conns[w].send(job)
        except (BrokenPipeError, OSError):
            self._died(w)

    def _receive(self, w: int) -> tuple[bool, Any]:
        try:
            return self._conns[w].recv()
        except (EOFError, OSError):
            self._died(w)
            raise  # unreachable: _died raises

    def _died(self, w: int) -> None:
        proc = self._procs[w]
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(LEAVE_S)
        code = proc.returncode
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else \
            f"exit code {code}"
        self.close()
        raise WorkerDied(f"evaluation worker {proc.pid} ended ({how})")

    def close(self) -> None:
        """Idle workers leave, busy ones are killed at once; returns within ~2 * LEAVE_S."""
        procs, conns, busy = self._procs, self._conns, self._busy
        self._procs, self._conns, self._busy = [], [], {}
        for w, (proc, conn) in enumerate(zip(procs, conns, strict=True)):
            if w in busy:
                proc.kill()
                continue
            with contextlib.suppress(OSError):
                conn.send(None)
        deadline = time.monotonic() + LEAVE_S
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.0, deadline - time.monotonic()))
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(LEAVE_S)
        for conn in conns:
            conn.close()
