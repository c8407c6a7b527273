"""The ROUTER as a CurveZMQ server: a ZAP handler that admits the allow list, and a monitor.

`zmq.auth`'s ThreadAuthenticator only logs the handshakes it refuses, so a
socket monitor on the ROUTER reports them (auth: the key is not allowed;
protocol: e.g. a plain-text client) for the node to count and write as events.
The handler must be up before the ROUTER binds: libzmq admits everyone when no
ZAP handler answers.
"""

from __future__ import annotations

import logging
from typing import Any

import zmq
from zmq.auth.thread import ThreadAuthenticator

from gossip.curve import CurveKeys

log = logging.getLogger("gossip.transport")

MAX_SECURITY_EVENTS = 1024  # refused handshakes kept between two take_events()
HANDSHAKE_FAILURES = {
    zmq.EVENT_HANDSHAKE_FAILED_AUTH: "auth",  # ZAP said no: the key is not allowed
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "protocol",  # e.g. a plain-text client
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "handshake",
}


class CurveServer:
    """Secures a ROUTER before its bind; `note` keeps the refusals the ROUTER's one monitor
    (connections.py) reports, `HANDSHAKE_FAILURES` names the events it wants."""

    def __init__(self, context: zmq.Context, router: zmq.Socket, curve: CurveKeys) -> None:
        self.router = router
        self._events: list[dict[str, Any]] = []
        self._auth = ThreadAuthenticator(context, log=log)
        self._auth.start()
        try:  # a handler left running would hang the context's end
            self._auth.configure_curve(domain="*", location=curve.allow_dir)
            router.setsockopt(zmq.CURVE_SERVER, 1)
            router.setsockopt(zmq.CURVE_PUBLICKEY, curve.public)
            router.setsockopt(zmq.CURVE_SECRETKEY, curve.secret)
        except BaseException:
            self._auth.stop()
            raise

    def note(self, event: dict[str, Any]) -> None:
        """Keep a refused handshake the monitor reported (at most MAX_SECURITY_EVENTS)."""
        reason = HANDSHAKE_FAILURES.get(event["event"])
        if reason is not None and len(self._events) < MAX_SECURITY_EVENTS:
            endpoint = event["endpoint"]
            self._events.append({
                "reason": reason,
                "endpoint": endpoint.decode(errors="replace") if endpoint else "",
                "errno": event["value"],
            })

    def take_events(self) -> list[dict[str, Any]]:
        """Handshakes refused since the last call (reason, endpoint, errno)."""
        events, self._events = self._events, []
        return events

    def stop(self) -> None:
        """Stop the ZAP handler: after the ROUTER closed, before the context ends."""
        self._auth.stop()
