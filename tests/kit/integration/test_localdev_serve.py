"""`python -m localdev serve`: real HTTP requests to the toy template's HttpApi routes."""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from localdev._http_api import MAX_BODY_BYTES

from tests.kit.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "tests" / "kit" / "fixtures" / "localdev" / "template.yaml"
SERVE = [sys.executable, "-m", "localdev", "serve", "-t", str(TEMPLATE), "--no-db"]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_file.read_text()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


def start_server(log_file: Path, *options: str) -> Server:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [*SERVE, "--port", str(port), *options],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log_file)
    deadline = time.monotonic() + 30
    while "Running on" not in server.log():
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"serve did not start:\n{server.log()}")
        time.sleep(0.05)
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("serve") / "serve.log")
    yield server
    server.stop()


def call(
    server: Server,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    request = urllib.request.Request(
        server.url + path, data=body, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, response.headers.items(), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers.items(), error.read())


def echo(server: Server, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """The event the function received (the echo routes return it as their body)."""
    reply = call(server, method, path, **kwargs)
    assert reply.status == 200, reply.body
    return reply.json()  # type: ignore[no-any-return]


def test_routes_are_listed_at_start(server: Server) -> None:
    log = server.log()
    assert f"Mounting HttpFunction at {server.url}/items/{{id}} [GET]" in log
    assert f"Mounting HttpFunction at {server.url}/echo/{{proxy+}} [ANY]" in log
    assert "not served: EchoFunction.Nightly (Schedule event)" in log


def test_path_parameters_and_route_key(server: Server) -> None:
    event = echo(server, "GET", "/items/42")
    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/items/42"
    assert event["pathParameters"] == {"id": "42"}
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["stage"] == "$default"
    assert event["isBase64Encoded"] is False
    assert "body" not in event


def test_query_string(server: Server) -> None:
    event = echo(server, "GET", "/items/1?tag=a&tag=b&q=caf%C3%A9%20bar&empty=")
    assert event["rawQueryString"] == "tag=a&tag=b&q=caf%C3%A9%20bar&empty="
    assert event["queryStringParameters"] == {"tag": "a,b", "q": "café bar", "empty": ""}


def test_repeated_headers_are_joined_and_cookies_listed(server: Server) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("GET", "/items/1")
    connection.putheader("X-Repeated", "one")
    connection.putheader("X-Repeated", "two")
    connection.putheader("Cookie", "session=abc; theme=dark")
    connection.endheaders()
    event = json.loads(connection.getresponse().read())
    connection.close()
    assert event["headers"]["x-repeated"] == "one,two"
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-forwarded-for"] == event["requestContext"]["http"]["sourceIp"]


def test_greedy_and_literal_routes(server: Server) -> None:
    event = echo(server, "DELETE", "/echo/a/b%20c/d")
    assert event["routeKey"] == "ANY /echo/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b c/d"}
    assert echo(server, "GET", "/echo/special")["routeKey"] == "GET /echo/special"
    assert echo(server, "POST", "/echo/special", body=b"")["routeKey"] == "ANY /echo/{proxy+}"


def test_binary_body_arrives_base64_encoded(server: Server) -> None:
    data = bytes(range(256))
    event = echo(
        server, "POST", "/upload", body=data, headers={"Content-Type": "application/octet-stream"}
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == data
    assert event["headers"]["content-length"] == "256"


def test_json_body_arrives_as_text(server: Server) -> None:
    body = json.dumps({"title": "Café ☕"}).encode()
    event = echo(server, "POST", "/upload", body=body, headers={"Content-Type": "application/json"})
    assert event["isBase64Encoded"] is False
    assert event["body"] == body.decode()


def test_binary_response_is_decoded(server: Server) -> None:
    reply = call(server, "GET", "/do/binary")
    assert reply.status == 200
    assert reply.header("content-type") == "image/png"
    assert reply.body.startswith(b"\x89PNG\r\n")


def test_cookies_become_set_cookie_headers(server: Server) -> None:
    reply = call(server, "GET", "/do/cookies")
    assert reply.status == 204
    assert reply.all("set-cookie") == ["a=1; Path=/", "b=2; HttpOnly"]


def test_status_headers_and_multi_value_headers(server: Server) -> None:
    reply = call(server, "GET", "/do/status")
    assert (reply.status, reply.header("x-teapot"), reply.body) == (418, "yes", b"short and stout")
    assert reply.header("apigw-requestid")
    assert call(server, "GET", "/do/multi").all("x-multi") == ["one", "two"]


@pytest.mark.parametrize(("what", "body"), [("plain", {"hello": "world"}), ("string", "hello")])
def test_plain_results_are_200_json(server: Server, what: str, body: Any) -> None:
    reply = call(server, "GET", f"/do/{what}")
    assert reply.status == 200
    assert reply.header("content-type") == "application/json"
    assert reply.json() == body


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nothing/here"), ("POST", "/items/1"), ("GET", "/"), ("GET", "/echo")],
)
def test_unrouted_requests_get_404(server: Server, method: str, path: str) -> None:
    reply = call(server, method, path, body=b"" if method == "POST" else None)
    assert reply.status == 404
    assert reply.json() == {"message": "Not Found"}


def test_body_over_10_mb_gets_413(server: Server) -> None:
    reply = call(
        server,
        "POST",
        "/upload",
        body=b"x" * (MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert reply.status == 413
    assert reply.json() == {"message": "Request Entity Too Large"}


def test_handler_crash_is_a_500_with_the_traceback_only_in_the_log(server: Server) -> None:
    reply = call(server, "GET", "/do/crash")
    assert reply.status == 500
    assert reply.json() == {"message": "Internal Server Error"}
    log = server.log()
    assert "[ERROR] RuntimeError: crashed on purpose" in log
    assert "Traceback (most recent call last)" in log
    assert "HttpFunction failed: RuntimeError: crashed on purpose" in log


def test_sandbox_stays_warm_between_requests(server: Server) -> None:
    first = call(server, "GET", "/do/state").json()
    second = call(server, "GET", "/do/state").json()
    assert second["pid"] == first["pid"]
    assert second["invocations"] == first["invocations"] + 1


def test_timeout_is_a_500_and_the_next_request_starts_cold(server: Server) -> None:
    before = call(server, "GET", "/do/state").json()
    started = time.monotonic()
    reply = call(server, "GET", "/do/sleep")
    assert reply.status == 500
    assert reply.json() == {"message": "Internal Server Error"}
    assert time.monotonic() - started < 8  # the 2 s Timeout, not the 10 s sleep
    assert "Task timed out after 2.00 seconds" in server.log()
    after = call(server, "GET", "/do/state").json()
    assert after["pid"] != before["pid"]
    assert after["invocations"] == 1


def test_keep_alive_connection_serves_several_requests(server: Server) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    for _ in range(3):
        connection.request("GET", "/do/status")
        assert connection.getresponse().read() == b"short and stout"
    connection.close()


def test_one_log_line_per_request(server: Server) -> None:
    call(server, "GET", "/items/7?x=1")
    call(server, "GET", "/missing")
    # the line follows the answer: wait for it, not for a time
    wait_until(lambda: "GET /missing " in server.log(), "the request's log line")
    lines = server.log().splitlines()
    assert any(
        line.startswith("GET /items/7?x=1 200 ") and line.endswith(" ms (HttpFunction)")
        for line in lines
    )
    assert any(line.startswith("GET /missing 404 ") for line in lines)
    assert len([line for line in lines if line.startswith("GET /items/7")]) == 1


def test_cold_mode_starts_a_sandbox_per_request(tmp_path: Path) -> None:
    server = start_server(tmp_path / "serve.log", "--cold")
    try:
        first = call(server, "GET", "/do/state").json()
        second = call(server, "GET", "/do/state").json()
    finally:
        server.stop()
    assert first["pid"] != second["pid"]
    assert first["invocations"] == second["invocations"] == 1
    assert server.log().count("Init Duration") == 2


def test_sigterm_stops_the_server_and_its_sandboxes(tmp_path: Path) -> None:
    server = start_server(tmp_path / "serve.log")
    sandbox_pid = call(server, "GET", "/do/state").json()["pid"]
    assert server.stop() == 0
    assert "localdev: stopping" in server.log()
    deadline = time.monotonic() + 5
    while _alive(sandbox_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(sandbox_pid)


def test_busy_port_is_a_clear_error(tmp_path: Path, server: Server) -> None:
    result = subprocess.run(
        [*SERVE, "--port", str(server.port)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{server.port}" in result.stderr


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_one_sandbox_serves_one_request_at_a_time(server: Server) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        states = list(pool.map(lambda _: call(server, "GET", "/do/state").json(), range(4)))
    assert len({state["pid"] for state in states}) == 1
    counts = sorted(state["invocations"] for state in states)
    assert counts == list(range(counts[0], counts[0] + 4))  # each saw its own invocation


def raw_request(server: Server, data: bytes) -> Reply:
    """Send bytes as they are (what urllib would refuse to send) and read the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in header_lines]
    return Reply(int(status_line.split()[1]), headers, body)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "request_line",
    [
        "TRACE /items/1 HTTP/1.1",
        "PROPFIND /echo/a HTTP/1.1",
        "get /items/1 HTTP/1.1",
        "BREW / HTTP/1.1",
    ],
)
def test_unknown_methods_get_api_gateway_s_json_404(server: Server, request_line: str) -> None:
    reply = raw_request(server, f"{request_line}\r\nHost: localhost\r\n\r\n".encode())
    assert reply.status == 404
    assert reply.header("content-type") == "application/json"
    assert reply.json() == {"message": "Not Found"}


@pytest.mark.parametrize(
    "data",
    [
        b"GET /items/1 HTTP/2.0\r\nHost: localhost\r\n\r\n",
        b"GET /items/1 HTTP/1.1 extra\r\nHost: localhost\r\n\r\n",
        b"POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\nab\r\n0\r\n\r\n",
        b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\n",
    ],
    ids=["http-2.0", "bad-request-line", "bad-chunk-size", "negative-length"],
)
def test_malformed_requests_get_a_json_400(server: Server, data: bytes) -> None:
    reply = raw_request(server, data)
    assert reply.status == 400
    assert reply.header("content-type") == "application/json"
    assert reply.json() == {"message": "Bad Request"}
    assert b"<html" not in reply.body.lower()


def test_docs_shows_swagger_ui_for_the_api_s_openapi_json(server: Server) -> None:
    reply = call(server, "GET", "/docs")
    assert reply.status == 200
    assert reply.header("content-type") == "text/html; charset=utf-8"
    page = reply.body.decode()
    assert "swagger-ui-bundle.js" in page
    assert 'url: "/openapi.json"' in page


def test_a_docs_route_of_the_template_wins(tmp_path: Path) -> None:
    project = tmp_path / "project"
    fixture = TEMPLATE.parent
    for name in ("functions", "layer"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(fixture / name, project / name)
    text = TEMPLATE.read_text().replace(
        "        Upload:\n",
        "        Docs:\n          Type: HttpApi\n"
        "          Properties: { ApiId: !Ref ToyApi, Path: /docs, Method: GET }\n"
        "        Upload:\n",
    )
    (project / "template.yaml").write_text(text)
    server = start_server(tmp_path / "serve.log", "-t", str(project / "template.yaml"))
    try:
        event = echo(server, "GET", "/docs")
        assert event["routeKey"] == "GET /docs"  # the function answered, not localdev's page
    finally:
        server.stop()


def test_concurrency_runs_up_to_n_sandboxes_per_function(tmp_path: Path) -> None:
    # GIVEN the API served with two sandboxes per function
    server = start_server(tmp_path / "serve.log", "--concurrency", "2")
    try:
        # WHEN four requests that each keep a sandbox busy for a moment arrive at once
        with ThreadPoolExecutor(max_workers=4) as pool:
            states = list(pool.map(lambda _: call(server, "GET", "/do/nap").json(), range(4)))
        # THEN two processes served them, two requests each, one at a time
        pids = [state["pid"] for state in states]
        assert len(set(pids)) == 2
        for pid in set(pids):
            counts = sorted(s["invocations"] for s in states if s["pid"] == pid)
            assert counts == list(range(1, len(counts) + 1))
        assert "up to 2 warm sandboxes per function" in server.log()
    finally:
        assert server.stop() == 0


def test_an_edit_is_served_by_new_sandboxes_without_a_restart(tmp_path: Path) -> None:
    # GIVEN a copy of the fixture app served warm
    app = tmp_path / "app"
    shutil.copytree(TEMPLATE.parent, app, ignore=shutil.ignore_patterns("__pycache__", ".local"))
    server = start_server(tmp_path / "serve.log", "-t", str(app / "template.yaml"))
    try:
        first = call(server, "GET", "/do/state").json()
        assert call(server, "GET", "/do/state").json()["pid"] == first["pid"]  # warm
        assert call(server, "GET", "/do/string").json() == "hello"
        # WHEN the function's code changes
        source = app / "functions" / "http" / "app.py"
        source.write_text(source.read_text().replace('return "hello"', 'return "hello again"'))
        # THEN the next request runs it in a new sandbox, cold, and the log says why
        assert call(server, "GET", "/do/string").json() == "hello again"
        after = call(server, "GET", "/do/state").json()
        assert after["pid"] != first["pid"]
        assert after["invocations"] == 2  # the new sandbox's second request
        assert "HttpFunction's code changed: new sandboxes from this request on" in server.log()
        assert server.log().count("Init Duration") == 2  # one cold start each
    finally:
        assert server.stop() == 0
