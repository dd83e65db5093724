"""An on-call webhook for tests and benchmarks: a real HTTP server on a free loopback port.

Shared by tests/evidence/test_alerts.py, the demo test and bench/bench_push_alert.py (which puts the repository root
on sys.path to import it), so there is one copy of it.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple


class WebhookRequest(NamedTuple):
    status: int  # what the webhook answered
    headers: dict[str, str]
    body: dict[str, Any]
    at: float  # time.monotonic() when it arrived


class WebhookReceiver:
    """Answers with the queued `statuses` (then 200) and keeps every request, in arrival order."""

    def __init__(self, path: str = "/hook") -> None:
        self.statuses: list[int] = []
        self.requests: list[WebhookRequest] = []
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:  # the server answers each request on its own thread
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.requests.append(WebhookRequest(status, dict(self.headers), body, time.monotonic()))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass  # the URL path may hold the webhook's secret

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self) -> list[str]:
        """The finding keys the webhook accepted (answered 200)."""
        return [request.body["finding"]["key"] for request in self.requests if request.status == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
