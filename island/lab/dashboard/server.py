"""The dashboard's web server: the page, its static files and `/api/nodes`, from the
standard library's threading HTTP server; a background thread keeps the view fresh.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

from island.lab.dashboard.crawl import Crawler

STATIC = {  # file name -> content type: nothing else is served
    "index.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "uPlot.min.css": "text/css; charset=utf-8",
    "uPlot.LICENSE": "text/plain; charset=utf-8",
}


def static_file(name: str) -> bytes:
    """A file shipped in island/lab/dashboard/static (package data)."""
    return resources.files("island.lab.dashboard").joinpath("static", name).read_bytes()


class Dashboard:
    """Serves the latest view of the crawler; `poll_forever` runs in its own thread."""

    def __init__(self, crawler: Crawler, host: str, port: int):
        self.crawler = crawler
        self._view = json.dumps(crawler.view().to_json()).encode()
        self._stop = threading.Event()
        self.httpd = ThreadingHTTPServer((host, port), self._handler())  # OSError if taken
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def poll_once(self) -> int:
        """Refresh the view now; returns how many nodes answered."""
        view = self.crawler.poll()
        self._view = json.dumps(view.to_json()).encode()
        return sum(n.state == "alive" for n in view.nodes)

    def poll_forever(self) -> None:
        while not self._stop.wait(self.crawler.refresh):
            self.poll_once()

    def serve(self) -> None:
        """Poll in the background and answer requests until `close()`."""
        poller = threading.Thread(target=self.poll_forever, name="dashboard-poll", daemon=True)
        poller.start()
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self._stop.set()
            poller.join(timeout=self.crawler.timeout * 2 + 1)

    def close(self) -> None:
        """Stop serving (from another thread or a signal handler's thread)."""
        self._stop.set()
        threading.Thread(target=self.httpd.shutdown, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        dashboard = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                path = self.path.split("?", 1)[0]
                if path == "/api/nodes":
                    self._send(dashboard._view, "application/json")
                    return
                name = "index.html" if path == "/" else path.removeprefix("/static/")
                if name not in STATIC:
                    self.send_error(HTTPStatus.NOT_FOUND)
                    return
                self._send(static_file(name), STATIC[name])

            def _send(self, body: bytes, content_type: str) -> None:
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # one request every few seconds per open page: not worth a line

        return Handler
