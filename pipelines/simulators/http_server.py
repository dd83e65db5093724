"""The HTTP plumbing both simulators share: a threaded stdlib server on 127.0.0.1, fault handling, request log."""

from __future__ import annotations

import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .clock import SimClock
from .faults import Fault, FaultPlan

MAX_BODY_BYTES = 1_000_000


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "application/json"
    fault: int | str | None = None  # a fault the handler applied itself (window faults), for the request log


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-request (a Ctrl-C'd ingest, a timed-out read) is the client's business, not a
        # simulator failure: no traceback on the console for it. Anything else is printed as the stdlib does.
        if isinstance(sys.exception(), ConnectionResetError | BrokenPipeError):
            return
        super().handle_error(request, client_address)


class SimulatorBase:
    """start()/stop()/context manager, the request log and the fault hook. Subclasses implement `handle`."""

    product = "simulator"

    def __init__(self, faults: FaultPlan | None, clock: SimClock | None, host: str, port: int) -> None:
        self.faults = faults if faults is not None else FaultPlan()
        self.clock = clock if clock is not None else SimClock()
        self.host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------------------------
    def start(self) -> str:
        """Listen (port 0 = a free port) and serve in a background thread; returns the base URL."""
        if self._server is not None:
            return self.base_url
        simulator = self

        class Handler(_Handler):
            sim = simulator

        try:
            self._server = _Server((self.host, self._port), Handler)
        except OSError as exc:
            raise OSError(
                f"{self.product} simulator cannot listen on {self.host}:{self._port} ({exc}): "
                "choose another port, or 0 for a free one"
            ) from exc
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{self.product}-simulator",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"the {self.product} simulator is not running: call start() first")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- request log ------------------------------------------------------------------------------------------------
    @property
    def request_log(self) -> list[dict[str, Any]]:
        """method, path (no query string), status (None when dropped), fault, at (sim clock ISO): no secrets."""
        with self._log_lock:
            return [dict(entry) for entry in self._log]

    def clear_request_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def _record(self, method: str, path: str, status: int | None, fault: int | str | None) -> None:
        entry = {"method": method, "path": path, "status": status, "fault": fault, "at": self.clock.now().isoformat()}
        with self._log_lock:
            self._log.append(entry)

    # -- hooks -----------------------------------------------------------------------------------------------------
    def is_token_endpoint(self, method: str, path: str) -> bool:
        return False

    def fault_response(self, fault: Fault) -> Response:
        raise NotImplementedError

    def handle(self, request: _Handler, method: str, path: str, query: str, body: bytes) -> Response:
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    sim: SimulatorBase
    protocol_version = "HTTP/1.1"  # keep-alive, as the vendors' load balancers do
    server_version = "auditlake-simulator"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the simulator keeps its own secret-free request_log

    def _serve(self) -> None:
        sim = self.sim
        split = urlsplit(self.path)
        path, query = split.path, split.query
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self._send(Response(413 if length > 0 else 400, b"", content_type=None))
            sim._record(self.command, path, 413 if length > 0 else 400, None)
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        fault = sim.faults.next_fault(token_endpoint=sim.is_token_endpoint(self.command, path))
        if fault is not None and fault.kind == "drop":
            sim._record(self.command, path, None, fault.kind)
            self._drop()
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.slow_seconds)
            fault_for_log: Fault | None = fault
            fault = None
        else:
            fault_for_log = fault
        if fault is not None:
            response = sim.fault_response(fault)
        else:
            try:
                response = sim.handle(self, self.command, path, query, body)
            except Exception as exc:  # a simulator bug must look like a vendor 500, not hang the client
                response = sim.fault_response(Fault(500))
                response.headers["X-Simulator-Error"] = type(exc).__name__
        sim._record(self.command, path, response.status, fault_for_log.kind if fault_for_log else response.fault)
        self._send(response)

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if response.body and self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _drop(self) -> None:
        """Close the socket with no response at all: the client sees a reset / remote disconnect."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def __getattr__(self, name: str):
        # Every method (TRACE, QUERY, ...) reaches the simulator, which answers 405 like the vendors do,
        # instead of the stdlib's 501 HTML page.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)
