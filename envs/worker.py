"""The worker side of envs/pool.py: `serve(FD, NODE_PID)` in a fresh interpreter.

A worker leaves signals to the node: SIGINT/SIGTERM are forwarded to it (so a signal
to any process of a node stops the node, through its own handler), and it ends when
the node ends, even by SIGKILL (PR_SET_PDEATHSIG on Linux, a watchdog elsewhere), or
when its socket closes, quietly.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PR_SET_PDEATHSIG = 1


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


def serve(fd: int, node_pid: int) -> None:
    """Serve `task(state, job)` for each job received until None or a closed pipe."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _forward_to(node_pid))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked since our start
    _die_with(node_pid)
    conn = Connection(fd)
    try:
        setup, task, settings = conn.recv()  # functions travel by reference (module, name)
    except (EOFError, OSError):
        return
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
