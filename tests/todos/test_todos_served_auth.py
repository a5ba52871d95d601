"""The API served by `localdev serve` with the JWT authorizer on (the local issuer, through the
template's AuthIssuer/AuthAudience parameters), and `localdev invoke --token`, as API Gateway
would guard them: a request without a valid bearer token is a 401 and sends no statement; with
one, each caller sees only their own rows. The functions' database is reached through a
FaultProxy that counts round trips."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from localdev.testing import LOCAL_AUDIENCE, LOCAL_ISSUER, issue_token, key_id, local_key

from tests.kit.support.proxy import FaultProxy
from tests.kit.support.served import free_port

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".local"  # where `localdev token` and `serve` keep the local issuer's key
AUTH_ON = ["--parameter-overrides", f"AuthIssuer={LOCAL_ISSUER}", f"AuthAudience={LOCAL_AUDIENCE}"]


@dataclass
class Served:
    url: str
    proxy: FaultProxy
    log_file: Path

    def call(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, dict[str, str], Any, int]:
        """status, headers, JSON body, and the round trips the function made."""
        headers = {"content-type": "application/json"}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        before = self.proxy.flights
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, got, text = answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            status, got, text = error.code, dict(error.headers), error.read()
        return (
            status,
            {k.lower(): v for k, v in got.items()},
            json.loads(text or b"null"),
            (self.proxy.flights - before),
        )


def environment(
    database_url: str, database_kind: str, folder: Path
) -> tuple[dict[str, str], list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "NEONKIT_"))}
    env["DATABASE_URL"] = database_url
    options: list[str] = []
    if database_kind == "pgbouncer":  # a local URL is not recognised as a pooler by its host
        (folder / "env.json").write_text(json.dumps({"Parameters": {"NEONKIT_POOLED": "on"}}))
        options = ["--env-vars", str(folder / "env.json")]
    return env, options


@pytest.fixture(scope="module")
def served(
    app_url: str, database_kind: str, direct_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("served-auth")
    local_key(LOCAL)  # as `make token` would have made it
    with psycopg.connect(direct_url, autocommit=True) as admin:
        admin.execute("TRUNCATE todos RESTART IDENTITY")
    params = psycopg.conninfo.conninfo_to_dict(app_url)
    with FaultProxy(
        str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432)
    ) as proxy:
        params.update(host="127.0.0.1", port=str(proxy.port))
        env, options = environment(
            psycopg.conninfo.make_conninfo("", **params), database_kind, folder
        )
        port = free_port()
        log_file = folder / "serve.log"
        with log_file.open("wb") as log:
            command = ["-m", "localdev", "serve", "--port", str(port), *AUTH_ON, *options]
            process = subprocess.Popen(
                [sys.executable, *command], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while "Running on" not in log_file.read_text():  # the fact: it says it listens
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"localdev serve did not start:\n{log_file.read_text()}")
            time.sleep(0.05)
        try:
            yield Served(f"http://127.0.0.1:{port}", proxy, log_file)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def bad_tokens(tmp: Path) -> dict[str, str | None]:
    kid = key_id(local_key(LOCAL).public_key())
    good = issue_token(LOCAL, "alice")
    head, _, signature = good.split(".")
    unsigned = {"iss": LOCAL_ISSUER, "sub": "alice", "aud": LOCAL_AUDIENCE, "exp": 4_000_000_000}
    return {
        "no token": None,
        "expired": issue_token(LOCAL, "alice", lifetime=60, now=time.time() - 3600),
        "another issuer": issue_token(LOCAL, "alice", claims={"iss": "https://issuer.example.com"}),
        "another audience": issue_token(LOCAL, "alice", audience="someone-else"),
        "signed by another key": head + "." + issue_token(tmp, "alice").split(".", 1)[1],
        "a changed payload": f"{head}.{b64({**unsigned, 'sub': 'bob'})}.{signature}",
        "alg none": f"{b64({'alg': 'none', 'kid': kid})}.{b64(unsigned)}.",
    }


@pytest.mark.parametrize(
    "case",
    [
        "no token",
        "expired",
        "another issuer",
        "another audience",
        "signed by another key",
        "a changed payload",
        "alg none",
    ],
)
def test_without_a_valid_token_the_answer_is_401_and_no_statement_is_sent(
    case: str, served: Served, tmp_path: Path
) -> None:
    token = bad_tokens(tmp_path)[case]
    requests = [
        ("GET", "/todos", None),
        ("POST", "/todos", {"title": "x"}),
        ("DELETE", "/todos/1", None),
        ("GET", "/nowhere", None),
    ]
    for method, path, body in requests:
        status, headers, answer, flights = served.call(method, path, token, body)
        assert (status, answer, flights) == (401, {"message": "Unauthorized"}, 0), case
        assert headers["www-authenticate"].startswith("Bearer")
    assert "the JWT authorizer refused the request" in served.log_file.read_text()


def test_the_openapi_document_needs_no_token(served: Served) -> None:
    status, _, document, flights = served.call("GET", "/openapi.json")
    assert (status, flights) == (200, 0)
    assert "/todos" in document["paths"]


def test_with_a_token_each_caller_sees_only_their_own(served: Served) -> None:
    alice, bob = issue_token(LOCAL, "served-alice"), issue_token(LOCAL, "served-bob")
    assert served.call("GET", "/todos", alice)[0] == 200  # the sandbox connects: now warm
    status, _, todo, flights = served.call("POST", "/todos", alice, {"title": "alice's"})
    assert (status, flights) == (201, 1)  # one round trip, the caller's identity included
    path = f"/todos/{todo['id']}"
    assert served.call("GET", path, alice)[:3:2] == (200, todo)
    assert served.call("GET", path, bob)[0] == 404
    assert served.call("PATCH", path, bob, {"done": True})[0] == 404
    assert served.call("DELETE", path, bob)[0] == 404
    assert [t["id"] for t in served.call("GET", "/todos", bob)[2]["items"]] == []
    assert [t["id"] for t in served.call("GET", "/todos", alice)[2]["items"]] == [todo["id"]]
    assert served.call("GET", path, alice)[2] == todo  # unchanged by Bob's attempts


# -- localdev invoke ------------------------------------------------------------------------


def invoke(app_url: str, event: str, *options: str) -> tuple[int, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "NEONKIT_"))}
    env["DATABASE_URL"] = app_url
    done = subprocess.run(
        [sys.executable, "-m", "localdev", "invoke", "ApiFunction", "-e", f"events/{event}.json",
         *options],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def test_invoke_checks_the_events_token_like_the_authorizer(app_direct_url: str) -> None:
    app_url = app_direct_url
    # An event of events/ carries claims, but no token: with the authorizer on, a 401
    code, answer = invoke(app_url, "todos_list", *AUTH_ON)
    assert code == 1
    assert (answer["statusCode"], answer["body"]) == (401, '{"message":"Unauthorized"}')
    # With a token, the function runs as its subject
    code, answer = invoke(app_url, "todos_list", *AUTH_ON, "--token", issue_token(LOCAL, "invoker"))
    assert (code, answer["statusCode"]) == (0, 200)
    # With the parameters empty (the default), the event goes as it is
    code, answer = invoke(app_url, "todos_list")
    assert (code, answer["statusCode"]) == (0, 200)
