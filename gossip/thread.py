"""`SocketThread`: the one thread that owns a node's ZeroMQ sockets, from bind to goodbye.

It binds, runs the `Engine` until told to stop, and closes every socket on its
way out; `start` returns once the socket is bound (or raises why it is not).
The island never touches it directly: `Gossip` (service.py) hands it the shared,
locked mailboxes and starts and stops it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from gossip.address import AddressError
from gossip.bulletin import Shared
from gossip.config import GossipConfig
from gossip.curve import CurveKeys
from gossip.engine import Engine
from gossip.transport import Transport

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
GOODBYE_LINGER_S = 0.5  # how long the goodbye (Membership.leave) may take to leave


class SocketThread:
    """Bind, run the engine, close: the life of the thread behind one `Gossip`."""

    def __init__(self, config: GossipConfig, node_id: str, shared: Shared,
                 status: Callable[[], dict[str, Any]] | None,
                 resolve: Callable[[str], tuple[str, ...]] | None) -> None:
        self.config, self.node_id, self.shared = config, node_id, shared
        self._status, self._resolve = status, resolve
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._final_cpu: float | None = None
        self.address: str | None = None  # known once the socket is bound

    def start(self, seeds: list[str], curve: CurveKeys | None) -> None:
        """Start the thread and wait until it has bound; raise what stopped it."""
        self._thread = threading.Thread(
            target=self._run, args=(seeds, curve), name=f"gossip-{self.node_id}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            self.stop()
            raise TimeoutError(f"gossip thread did not start within {START_TIMEOUT_S} s")
        if self._error is not None:
            self.stop()
            raise self._error

    def stop(self) -> None:
        """Ask the thread to say goodbye and close its sockets; wait for it a while."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_TIMEOUT_S)
            if thread.is_alive():
                log.warning(
                    "gossip: thread of %s did not stop within %s s", self.node_id, STOP_TIMEOUT_S
                )

    def cpu_seconds(self) -> float:
        """CPU time the thread has used, read from its own clock (for cost figures)."""
        if self._final_cpu is not None:
            return self._final_cpu
        thread = self._thread
        if thread is None or thread.ident is None:
            return 0.0
        try:
            return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (OSError, AttributeError):  # the thread just ended, or no POSIX thread clocks
            return self._final_cpu or 0.0

    def _run(self, seeds: list[str], curve: CurveKeys | None) -> None:
        rng = random.Random(self.config.gossip_seed)
        try:
            transport = Transport(self.config, rng, curve, self._resolve)
        except Exception as exc:
            self._error = _bind_error(self.config.bind, exc)
            self._ready.set()
            return
        try:
            engine = Engine(
                self.config, self.node_id, transport, seeds, self.shared, self._status, rng
            )
            self.address = transport.address
            self._ready.set()
            engine.run(self._stop)
        except Exception as exc:  # only setup can get here: the loop guards itself
            self._error = exc
            self._ready.set()
            log.exception("gossip: thread of %s failed", self.node_id)
        finally:
            transport.close(linger=GOODBYE_LINGER_S)
            self._final_cpu = time.thread_time()


def _bind_error(bind: str, exc: Exception) -> Exception:
    if isinstance(exc, AddressError):
        return ValueError(f"bind: {exc}")
    return OSError(f"gossip: cannot bind {bind}: {exc}")
