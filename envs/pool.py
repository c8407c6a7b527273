"""Worker processes that score chunks of genomes, and always end when the node does.

`multiprocessing.Pool` hung 4 of 7 trials when SIGTERM reached every process of a
node (issue 12): workers killed mid-task left `Pool.terminate` waiting on threads
that replace dead workers. This pool is a list of plain processes, one pipe each:
- workers ignore SIGINT/SIGTERM and forward them to the node (a signal to any
  process of a node stops the node, once, through its own handler);
- workers die with the node: PR_SET_PDEATHSIG on Linux, a watchdog thread
  elsewhere, and end quietly when their pipe closes;
- `close` asks idle workers to leave, kills busy ones, and never waits long.
Workers are started with `spawn` (a fresh interpreter, safe after ZeroMQ threads).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PR_SET_PDEATHSIG = 1
POLL_S = 0.1
LEAVE_S = 1.0  # an idle worker has this long to leave before it is killed


class WorkerDied(RuntimeError):
    """A worker process ended while the node still needed it (killed, or out of memory)."""


class WorkerError(RuntimeError):
    """A task raised in a worker; the message carries the worker's traceback."""


class Aborted(RuntimeError):
    """The caller asked to stop while chunks were being scored."""


def _forward_to(node_pid: int) -> Callable[[int, Any], None]:
    def forward(signum: int, _frame: Any) -> None:
        if os.getppid() == node_pid:  # never signal a stranger that reused the pid
            os.kill(node_pid, signum)
    return forward


def _die_with(node_pid: int) -> None:
    """End this process when the node ends, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def watch() -> None:
        while os.getppid() == node_pid:
            time.sleep(0.2)
        os._exit(0)

    if os.getppid() != node_pid:  # the node died before we got here
        os._exit(0)
    threading.Thread(target=watch, name="watch-node", daemon=True).start()


def _worker_main(conn: Connection, node_pid: int, setup: Callable[[Any], Any],
                 task: Callable[[Any, Any], Any], settings: Any) -> None:
    """Serve `task(state, job)` for each job received until None or a closed pipe."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _forward_to(node_pid))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    _die_with(node_pid)
    state = setup(settings)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            reply: tuple[bool, Any] = (True, task(state, job))
        except Exception:  # sent back to the node, which raises it there
            reply = (False, traceback.format_exc())
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


class WorkerPool:
    """`map(jobs)` over `n` worker processes; `close()` always returns within seconds."""

    def __init__(self, n: int, setup: Callable[[Any], Any], task: Callable[[Any, Any], Any],
                 settings: Any):
        ctx = mp.get_context("spawn")
        self._procs: list[Any] = []
        self._conns: list[Connection] = []
        self._busy: dict[int, int] = {}  # worker -> job it is scoring
        # Workers start with SIGINT/SIGTERM blocked (the mask survives spawn), so a group
        # signal in their first second stays pending until they ignore it, not kills them.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            for i in range(n):
                ours, theirs = ctx.Pipe()
                proc = ctx.Process(target=_worker_main, name=f"island-worker-{i}", daemon=True,
                                   args=(theirs, os.getpid(), setup, task, settings))
                proc.start()
                theirs.close()
                self._procs.append(proc)
                self._conns.append(ours)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    def map(self, jobs: list[Any], abort: Callable[[], bool] | None = None) -> list[Any]:
        """Results of `task` for each job, in order; one job per idle worker at a time.

        Raises Aborted when `abort()` turns true (busy workers are killed: an episode
        cannot be interrupted cleanly) and WorkerDied when a worker ends.
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
            conns = [self._conns[w] for w in busy]
            sentinels = [self._procs[w].sentinel for w in busy]
            ready = wait(conns + sentinels, timeout=POLL_S)
            if abort is not None and abort():
                self.close()
                raise Aborted("evaluation abandoned on request")
            for w in list(busy):
                if self._conns[w] in ready or self._procs[w].sentinel in ready:
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
        proc.join(LEAVE_S)
        code = proc.exitcode
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
            proc.join(max(0.0, deadline - time.monotonic()))
        for proc in procs:
            if proc.is_alive():
                proc.kill()
        for proc in procs:
            proc.join(LEAVE_S)
        for conn in conns:
            conn.close()
