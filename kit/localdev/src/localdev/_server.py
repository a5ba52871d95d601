"""`serve`: the template's HttpApi routes on localhost, like `sam local start-api`.

Each function gets one warm sandbox, reused across requests (its module-level connection
too) and serving one request at a time, as one Lambda execution environment does; with
`cold=True` every request gets a fresh one. A request becomes a payload 2.0 event
(`http_api.py`), the function's result an HTTP response. What API Gateway answers itself is
answered here too: 404 for no route, 413 over 10 MB, 500 when the function fails, 503 past
the route's integration timeout. Tracebacks go to this server's log, never to the client.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase

from ._http_api import (
    MAX_BODY_BYTES,
    InvalidResponse,
    Request,
    Response,
    build_event,
    error_response,
    new_request_id,
    to_response,
)
from ._routes import Match, Route, Router
from ._sandbox import Invocation, Log, Sandbox
from ._template import Function

__all__ = ["ApiServer", "Functions", "describe_routes"]

LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's limit for a synchronous invoke's event
_DRAIN_LIMIT = 4 * MAX_BODY_BYTES  # read and drop a too-large body up to this, then hang up
_NOT_FORWARDED = ("content-length", "transfer-encoding", "connection", "date")


class Functions:
    """The sandboxes behind the API: one warm one per function, or a new one per request."""

    def __init__(
        self,
        functions: Mapping[str, Function],
        environments: Mapping[str, Mapping[str, str]],
        log: Log,
        cold: bool = False,
    ) -> None:
        self.functions = dict(functions)
        self.environments = {k: dict(v) for k, v in environments.items()}
        self.cold = cold
        self._log = log
        self._sandboxes: dict[str, Sandbox] = {}
        self._locks = {function_id: threading.Lock() for function_id in self.functions}

    def invoke(self, function_id: str, event: object) -> Invocation:
        if self.cold:
            with self._new_sandbox(function_id) as sandbox:
                return sandbox.invoke(event)
        with self._locks[function_id]:  # Lambda gives a sandbox one request at a time
            if function_id not in self._sandboxes:
                self._sandboxes[function_id] = self._new_sandbox(function_id)
            return self._sandboxes[function_id].invoke(event)

    def close(self) -> None:
        for sandbox in list(self._sandboxes.values()):
            sandbox.close()
        self._sandboxes.clear()

    def _new_sandbox(self, function_id: str) -> Sandbox:
        return Sandbox(self.functions[function_id], self.environments[function_id], self._log)


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self, address: tuple[str, int], router: Router, functions: Functions, log: Log
    ) -> None:
        self.router = router
        self.functions = functions
        self.log = log
        super().__init__(address, _RequestHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "localdev"
    server: ApiServer

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request is logged by _handle

    def handle_expect_100(self) -> bool:
        """Refuse a too-large body before the client sends it (`Expect: 100-continue`)."""
        try:
            too_large = int(self.headers.get("content-length") or 0) > MAX_BODY_BYTES
        except ValueError:
            too_large = False
        if not too_large:
            return super().handle_expect_100()
        self.close_connection = True
        response = error_response(413, "Request Entity Too Large", new_request_id())
        self._send(response)
        self.server.log(f"{self.command} {self.path} 413 (-)")
        return False

    def _handle(self) -> None:
        started = time.perf_counter()
        request_id = new_request_id()
        function_id = "-"
        body = self._read_body()
        if body is None:
            response = error_response(413, "Request Entity Too Large", request_id)
        else:
            request = Request(
                self.command,
                self.path,
                list(self.headers.items()),
                body,
                self.client_address[0],
                self.server.port,
                self.request_version,
            )
            match = self.server.router.match(self.command, request.raw_path)
            if match is None:
                response = error_response(404, "Not Found", request_id)
            else:
                function_id = match.route.function_id
                response = self._invoke(request, match, request_id)
        self._send(response)
        elapsed = (time.perf_counter() - started) * 1000
        self.server.log(
            f"{self.command} {self.path} {response.status} {elapsed:.1f} ms ({function_id})"
        )

    def _invoke(self, request: Request, match: Match, request_id: str) -> Response:
        route = match.route
        event = build_event(request, match, request_id)
        if len(json.dumps(event).encode()) > LAMBDA_PAYLOAD_BYTES:
            # Lambda refuses a synchronous invoke over 6 MB; the function never runs.
            return error_response(413, "Request Entity Too Large", request_id)
        started = time.monotonic()
        invocation = self.server.functions.invoke(route.function_id, event)
        if time.monotonic() - started > route.integration_timeout:
            return error_response(503, "Service Unavailable", request_id)
        if not invocation.ok:
            # API Gateway turns every function error, a timeout included, into a bare 500.
            error = json.loads(invocation.payload)
            self.server.log(
                f"{route.function_id} failed: {error.get('errorType')}: {error.get('errorMessage')}"
            )
            return error_response(500, "Internal Server Error", request_id)
        try:
            response = to_response(invocation.payload)
        except InvalidResponse as exc:
            self.server.log(f"{route.function_id} returned an invalid response: {exc}")
            return error_response(500, "Internal Server Error", request_id)
        response.headers.append(("apigw-requestid", request_id))
        return response

    def _read_body(self) -> bytes | None:
        """The request body; None if it is over API Gateway's limit."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            length = 0
        if length <= MAX_BODY_BYTES:
            return self.rfile.read(length) if length > 0 else b""
        if length <= _DRAIN_LIMIT:  # read it all, so the client sees our answer
            _drain(self.rfile, length)
        else:
            self.close_connection = True
        return None

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                length = int(line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                self.close_connection = True
                return None
            if length == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                break
            size += length
            if size > _DRAIN_LIMIT:
                self.close_connection = True
                return None
            chunk = self.rfile.read(length)
            self.rfile.readline(16)  # the CRLF after each chunk
            if size <= MAX_BODY_BYTES:
                chunks.append(chunk)
        return b"".join(chunks) if size <= MAX_BODY_BYTES else None

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in _NOT_FORWARDED:
                self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(response.body)


def describe_routes(routes: list[Route], base_url: str) -> list[str]:
    """`Mounting HttpFunction at http://127.0.0.1:3000/items/{id} [GET]` lines, as sam prints."""
    methods: dict[tuple[str, str], list[str]] = {}
    for route in routes:
        methods.setdefault((route.function_id, route.path), []).append(route.method)
    return [
        f"Mounting {function_id} at {base_url}{'/*' if path == '$default' else path} "
        f"[{', '.join(sorted(names))}]"
        for (function_id, path), names in methods.items()
    ]


def _drain(stream: BufferedIOBase, length: int) -> None:
    while length > 0:
        chunk = stream.read(min(length, 1 << 20))
        if not chunk:
            return
        length -= len(chunk)
