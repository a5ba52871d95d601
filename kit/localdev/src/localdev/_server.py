"""`serve`: the template's HttpApi routes on localhost, like `sam local start-api`.

Each function gets one warm sandbox, reused across requests (its module-level connection
too) and serving one request at a time, as one Lambda execution environment does; with
`concurrency=N` up to N of them serve requests in parallel, and with `cold=True` every
request gets a fresh one. A function whose code changed (a `.py` file of its folder or of its
layers' folders, or a watched folder's file: the migrations) gets new sandboxes from its next
request on, after `on_change` (which applies the new migrations): an edit is served without a
restart, as by `sam local start-api`. A request becomes a payload 2.0 event
(`http_api.py`), the function's result an HTTP response. What API Gateway answers itself is
answered here too, as JSON: 404 for no route (any method), 400 for a malformed request,
413 over 10 MB, 500 when the function fails, 503 past the route's integration timeout, and
401 {"message":"Unauthorized"} on a route with a JWT authorizer when the bearer token is
missing or invalid (`_jwt.py`; the function never runs), else the token's claims are in the
event as API Gateway puts them.
Tracebacks go to this server's log, never to the client. GET /docs shows Swagger UI for the
API's /openapi.json, unless a route of the template has that path.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from pathlib import Path
from typing import Any

from ._docs import DOCS_PATH, docs_page
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
from ._jwt import Keys, Unauthorized, check, unauthorized_headers
from ._routes import Match, Route, Router
from ._sandbox import Invocation, Log, Sandbox
from ._template import Function

__all__ = ["ApiServer", "Functions", "describe_routes"]

LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's limit for a synchronous invoke's event
_DRAIN_LIMIT = 4 * MAX_BODY_BYTES  # read and drop a too-large body up to this, then hang up
_NOT_FORWARDED = ("content-length", "transfer-encoding", "connection", "date")


class Functions:
    """The sandboxes behind the API: up to `concurrency` warm ones per function (one process
    per request in flight, as Lambda Managed Instances run Python), or a new one per request."""

    def __init__(
        self,
        functions: Mapping[str, Function],
        environments: Mapping[str, Mapping[str, str]],
        log: Log,
        cold: bool = False,
        concurrency: int = 1,
        watch: Sequence[Path] = (),
        on_change: Callable[[], None] | None = None,
    ) -> None:
        """`watch`: more folders whose files count as every function's code (the migrations);
        `on_change` runs when any of it changed, before the new sandboxes start."""
        self.watch = tuple(watch)
        self.on_change = on_change
        self.functions = dict(functions)
        self.environments = {k: dict(v) for k, v in environments.items()}
        self.cold = cold
        self.concurrency = concurrency
        self._log = log
        self._idle: dict[str, list[Sandbox]] = {function_id: [] for function_id in self.functions}
        self._started = dict.fromkeys(self.functions, 0)
        self._changed = threading.Condition()
        # the code each function's sandboxes run: its newest source file's time when they began
        self._code = {function_id: self._code_time(function_id) for function_id in self.functions}
        self._code_of: dict[Sandbox, float] = {}

    def invoke(self, function_id: str, event: object) -> Invocation:
        if self.cold:
            with self._new_sandbox(function_id) as sandbox:
                return sandbox.invoke(event)
        self._forget_old_code(function_id)
        sandbox = self._take(function_id)
        try:
            return sandbox.invoke(event)
        finally:
            with self._changed:
                if self._code_of.get(sandbox) == self._code[function_id]:
                    self._idle[function_id].append(sandbox)
                else:  # its code changed while it served: no more requests for it
                    self._retire(function_id, sandbox)
                self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            sandboxes = [sandbox for idle in self._idle.values() for sandbox in idle]
            for idle in self._idle.values():
                idle.clear()
        for sandbox in sandboxes:
            sandbox.close()

    def _take(self, function_id: str) -> Sandbox:
        """An idle sandbox, else a new one while fewer than `concurrency` exist, else wait:
        a sandbox serves one request at a time, as a Lambda execution environment does."""
        with self._changed:
            while not self._idle[function_id] and self._started[function_id] >= self.concurrency:
                self._changed.wait()
            if self._idle[function_id]:
                return self._idle[function_id].pop()
            self._started[function_id] += 1
        return self._new_sandbox(function_id)

    def _new_sandbox(self, function_id: str) -> Sandbox:
        sandbox = Sandbox(self.functions[function_id], self.environments[function_id], self._log)
        with self._changed:
            self._code_of[sandbox] = self._code[function_id]
        return sandbox

    def _forget_old_code(self, function_id: str) -> None:
        """When the function's code changed, its idle sandboxes go: the next one starts cold."""
        now = self._code_time(function_id)
        with self._changed:
            if now == self._code[function_id]:
                return
            self._code[function_id] = now
            stale = self._idle[function_id]
            self._idle[function_id] = []
            for sandbox in stale:
                self._retire(function_id, sandbox)
            self._changed.notify_all()
        self._log(f"localdev: {function_id}'s code changed: new sandboxes from this request on")
        if self.on_change is not None:
            self.on_change()

    def _retire(self, function_id: str, sandbox: Sandbox) -> None:
        """(Holding the condition.) Close a sandbox whose code is old, freeing its place."""
        self._code_of.pop(sandbox, None)
        self._started[function_id] -= 1
        sandbox.close()

    def _code_time(self, function_id: str) -> float:
        """The newest modification time of the function's Python sources (its folder, its
        layers' folders): a cheap walk over the few files an app has."""
        function = self.functions[function_id]
        newest = 0.0
        for folder in (function.code_dir, *function.layer_paths, *self.watch):
            for path in _sources(folder):
                with contextlib.suppress(OSError):  # deleted while we looked
                    newest = max(newest, path.stat().st_mtime)
        return newest


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        router: Router,
        functions: Functions,
        log: Log,
        keys: Keys | None = None,
    ) -> None:
        self.router = router
        self.functions = functions
        self.log = log
        self.keys = keys or Keys(Path(".local"))
        super().__init__(address, _RequestHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "localdev"
    server: ApiServer

    def __getattr__(self, name: str) -> Any:
        # Every method (TRACE, PROPFIND, a lowercase get...) goes to the router, as API
        # Gateway takes them: a method no route has is a 404, not http.server's 501 page.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def version_string(self) -> str:
        return self.server_version

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What http.server refuses itself (a malformed request line, an HTTP/2.0 one, headers
        too long...) gets API Gateway's JSON, a 400 for anything malformed, never HTML."""
        malformed = code in (HTTPStatus.NOT_IMPLEMENTED, HTTPStatus.HTTP_VERSION_NOT_SUPPORTED)
        status = HTTPStatus.BAD_REQUEST if malformed else HTTPStatus(code)
        self.close_connection = True
        self.request_version = self.protocol_version  # else http.server answers HTTP/0.9-style
        self._send(error_response(status, _message(status), new_request_id()))
        target = getattr(self, "path", "") or "-"
        self.server.log(f"{self.command or '-'} {target} {status} (refused: {message or code})")

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
        try:
            body = self._read_body()
        except _Refused as refused:
            body, response = (
                None,
                error_response(refused.status, _message(refused.status), request_id),
            )
        if body is not None and self.command == "GET" and self._is_docs():
            response = docs_page()
        elif body is not None:
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
        if route.authorizer is not None:
            try:
                claims = check(route.authorizer, event["headers"], self.server.keys)
            except Unauthorized as refused:
                self.server.log(f"{route.key}: the JWT authorizer refused the request: {refused}")
                response = error_response(401, "Unauthorized", request_id)
                response.headers += unauthorized_headers(refused)
                return response
            event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
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

    def _is_docs(self) -> bool:
        """GET /docs when no route of the template claims that very path."""
        path = self.path.partition("?")[0]
        return path == DOCS_PATH and not any(r.path == DOCS_PATH for r in self.server.router.routes)

    def _read_body(self) -> bytes:
        """The request body; _Refused if it is over API Gateway's limit or malformed."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise _Refused(HTTPStatus.BAD_REQUEST)
        if length <= MAX_BODY_BYTES:
            return self.rfile.read(length) if length > 0 else b""
        if length <= _DRAIN_LIMIT:  # read it all, so the client sees our answer
            _drain(self.rfile, length)
        else:
            self.close_connection = True
        raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                length = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                length = -1
            if length < 0 or not line.endswith(b"\n"):
                self.close_connection = True
                raise _Refused(HTTPStatus.BAD_REQUEST)
            if length == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                break
            size += length
            if size > _DRAIN_LIMIT:
                self.close_connection = True
                raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            chunk = self.rfile.read(length)
            self.rfile.readline(16)  # the CRLF after each chunk
            if size <= MAX_BODY_BYTES:
                chunks.append(chunk)
        if size > MAX_BODY_BYTES:
            raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        return b"".join(chunks)

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


def _sources(folder: Path) -> list[Path]:
    """The `.py` and `.sql` files under `folder`, skipping caches and hidden folders."""
    found: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return found
    for entry in entries:
        if entry.is_dir():
            if not entry.name.startswith((".", "__pycache__")) and entry.name != "node_modules":
                found += _sources(entry)
        elif entry.suffix in (".py", ".sql"):
            found.append(entry)
    return found


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


class _Refused(Exception):
    """A request API Gateway answers itself, without invoking a function."""

    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status.phrase)
        self.status = status


def _message(status: HTTPStatus) -> str:
    """API Gateway's words, which are the older reason phrases (Python 3.13 says "Content Too
    Large" for 413)."""
    return _MESSAGES.get(status, status.phrase)


_MESSAGES = {
    HTTPStatus.BAD_REQUEST: "Bad Request",
    HTTPStatus.NOT_FOUND: "Not Found",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "Request Entity Too Large",
}


def _drain(stream: BufferedIOBase, length: int) -> None:
    while length > 0:
        chunk = stream.read(min(length, 1 << 20))
        if not chunk:
            return
        length -= len(chunk)
