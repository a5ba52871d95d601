"""`python -m localdev invoke`, run as a user runs it, on the toy functions of tests/fixtures."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "kit" / "fixtures" / "localdev"
TEMPLATE = FIXTURE / "template.yaml"

REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>\d+\.\d\d) ms"
    r"\tBilled Duration: (?P<billed>\d+) ms\tMemory Size: (?P<memory>\d+) MB"
    r"\tMax Memory Used: (?P<used>\d+) MB(?:\tInit Duration: (?P<init>\d+\.\d\d) ms)?"
    r"\t(?P<status>.*)$",
    re.MULTILINE,
)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def payloads(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines()]

    def payload(self) -> Any:
        (payload,) = self.payloads()
        return payload

    def reports(self) -> list[dict[str, str | None]]:
        return [m.groupdict() for m in REPORT.finditer(self.stderr)]


def localdev(
    *args: str,
    template: Path = TEMPLATE,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    cwd: Path = ROOT,
) -> Run:
    """The command, run from the project root; the shell has no DATABASE_URL unless given."""
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(env or {})
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "localdev", args[0], "-t", str(template), *args[1:]],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
    )
    return Run(result.returncode, result.stdout, result.stderr, time.monotonic() - started)


def test_invoke_returns_the_handler_result_and_reports_like_lambda() -> None:
    # GIVEN an event file and a shell variable that must not reach the function
    event_file = FIXTURE / "events" / "echo.json"
    # WHEN the echo function is invoked with it
    run = localdev(
        "invoke", "EchoFunction", "-e", str(event_file), "--no-db", env={"LOCALDEV_TEST_LEAK": "1"}
    )
    # THEN stdout is the handler's return value as JSON
    assert run.returncode == 0, run.stderr
    result = run.payload()
    assert result["event"] == json.loads(event_file.read_text())
    # AND stderr has START, END and a REPORT with an Init Duration (a cold start)
    (report,) = run.reports()
    request_id = report["id"]
    assert f"START RequestId: {request_id} Version: $LATEST" in run.stderr
    assert f"END RequestId: {request_id}" in run.stderr
    assert report["memory"] == "256"
    assert int(report["used"] or 0) > 0
    assert report["init"] is not None
    assert int(report["billed"] or 0) >= float(report["duration"] or 0)
    # AND the handler got Lambda's context
    context = result["context"]
    assert context["aws_request_id"] == request_id
    assert context["function_name"] == "EchoFunction"
    assert context["memory_limit_in_mb"] == "256"
    assert context["invoked_function_arn"].endswith(":123456789012:function:EchoFunction")
    assert context["log_group_name"] == "/aws/lambda/EchoFunction"
    assert 4000 < context["remaining_ms"] <= 5000
    # AND the template's environment, Lambda's variables, and nothing from the shell
    environment = result["environment"]
    assert environment["GREETING"] == "hello"
    assert environment["STAGE_NAME"] == "development"
    assert environment["FROM_GLOBALS"] == "function"
    assert environment["API_URL"].startswith("https://ToyApi.execute-api.")
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == "EchoFunction"
    assert environment["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "5"
    assert environment["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
    assert environment["_HANDLER"] == "app.handler"
    assert environment["LOCALDEV_TEST_LEAK"] is None
    assert environment["DATABASE_URL"] is None
    # AND the code folder then the layer's python/ folder lead sys.path, as in Lambda
    code_dir = FIXTURE / "functions" / "echo"
    assert result["sys_path"][:2] == [str(code_dir), str(FIXTURE / "layer" / "python")]
    assert result["layer"] == "toylayer"
    assert result["cwd"] == environment["LAMBDA_TASK_ROOT"] == str(code_dir)


def test_env_vars_file_and_parameter_overrides() -> None:
    run = localdev(
        "invoke", "EchoFunction", "--no-db",
        "--env-vars", str(FIXTURE / "env.json"),
        "--parameter-overrides", "ParameterKey=Stage,ParameterValue=prod", "Greeting='hi there'",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    environment = run.payload()["environment"]
    assert environment["STAGE_NAME"] == "production"  # the condition follows the parameter
    assert environment["GREETING"] == "overridden"  # --env-vars beats the template
    assert environment["FROM_ENV_VARS"] == "echo"  # the function's entry beats Parameters
    assert environment["FOR_ALL"] == "everyone"


def test_parameter_override_reaches_the_function() -> None:
    run = localdev("invoke", "EchoFunction", "--no-db", "--parameter-overrides", "Greeting=hey")
    assert run.payload()["environment"]["GREETING"] == "hey"


def test_event_from_stdin_or_none() -> None:
    run = localdev("invoke", "EchoFunction", "--no-db", "-e", "-", stdin='{"from": "stdin"}')
    assert run.payload()["event"] == {"from": "stdin"}
    run = localdev("invoke", "EchoFunction", "--no-db")
    assert run.payload()["event"] == {}


def test_repeat_invokes_a_warm_sandbox() -> None:
    run = localdev("invoke", "EchoFunction", "--no-db", "--repeat", "3")
    assert run.returncode == 0, run.stderr
    payloads, reports = run.payloads(), run.reports()
    assert len(payloads) == len(reports) == 3
    assert [r["init"] is not None for r in reports] == [True, False, False]
    assert len({p["pid"] for p in payloads}) == 1
    assert len({p["context"]["aws_request_id"] for p in payloads}) == 3
    assert [p["context"]["aws_request_id"] for p in payloads] == [r["id"] for r in reports]


def test_timeout_kills_the_function() -> None:
    run = localdev("invoke", "SleepyFunction", "--no-db", "-e", "-", stdin='{"seconds": 30}')
    assert run.returncode == 1
    assert run.seconds < 15  # not the 30 s the function wanted
    (report,) = run.reports()
    assert re.search(
        rf"^\S+Z {report['id']} Task timed out after 1\.00 seconds$", run.stderr, re.MULTILINE
    )
    assert report["duration"] == "1000.00"
    assert report["status"] == "Status: timeout\t"
    assert run.payload() == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {report['id']} Error: Task timed out after 1.00 seconds",
    }
    assert "going to sleep" in run.stderr  # the function's own output, before the kill


def test_after_a_timeout_the_next_invocation_starts_cold() -> None:
    run = localdev("invoke", "SleepyFunction", "--no-db", "--repeat", "2", "-e", "-", stdin="{}")
    assert run.returncode == 1
    assert [r["init"] is not None for r in run.reports()] == [True, True]


def test_handler_exception_gives_lambdas_error_json() -> None:
    run = localdev("invoke", "BrokenFunction", "--no-db", "-e", "-", stdin='{"message": "no!"}')
    assert run.returncode == 1
    error = run.payload()
    (report,) = run.reports()
    assert set(error) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "no!")
    assert error["requestId"] == report["id"]
    assert all(isinstance(line, str) for line in error["stackTrace"])
    assert "in _fail" in error["stackTrace"][-1]
    assert "_runtime" not in "".join(error["stackTrace"])  # the runtime's frames are left out
    assert "[ERROR] ValueError: no!\nTraceback (most recent call last):" in run.stderr


@pytest.mark.parametrize(
    ("event", "error_type", "message"),
    [
        ('{"exit": 3}', "Runtime.ExitError", "Error: Runtime exited with error: exit status 3"),
        ('{"unserialisable": true}', "Runtime.MarshalError", "Unable to marshal response"),
    ],
)
def test_runtime_errors(event: str, error_type: str, message: str) -> None:
    run = localdev("invoke", "BrokenFunction", "--no-db", "-e", "-", stdin=event)
    assert run.returncode == 1
    error = run.payload()
    assert error["errorType"] == error_type
    assert message in error["errorMessage"]


def test_missing_handler_module() -> None:
    run = localdev("invoke", "MissingHandlerFunction", "--no-db")
    assert run.returncode == 1
    error = run.payload()
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == "Unable to import module 'nowhere': No module named 'nowhere'"
    assert "Error Type: Runtime.ImportModuleError" in run.stderr


def test_init_duration_is_the_import_time() -> None:
    run = localdev("invoke", "SlowImportFunction", "--no-db", "--repeat", "2")
    assert run.returncode == 0, run.stderr
    first, second = run.reports()
    assert float(first["init"] or 0) >= 400  # the module sleeps 0.4 s at import
    assert float(first["duration"] or 0) < 100
    assert second["init"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["invoke", "Nope"], "no function 'Nope' in template.yaml"),
        (["invoke"], "name the function to invoke: one of EchoFunction"),
        (["invoke", "EchoFunction", "-e", "absent.json"], "cannot read the event absent.json"),
        (["invoke", "EchoFunction", "-e", str(TEMPLATE)], "is not JSON"),
        (["invoke", "EchoFunction", "--parameter-overrides", "Stage=qa"], "AllowedValues"),
        (["invoke", "EchoFunction", "--env-vars", "absent.json"], "--env-vars absent.json"),
    ],
)
def test_usage_errors_exit_2_with_a_message(args: list[str], message: str) -> None:
    run = localdev(*args, "--no-db")
    assert run.returncode == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_database_url_from_the_environment_is_passed_on() -> None:
    url = "postgresql://someone@example.invalid/db"
    run = localdev("invoke", "EchoFunction", env={"DATABASE_URL": url})
    assert run.returncode == 0, run.stderr
    assert run.payload()["environment"]["DATABASE_URL"] == url
    assert "PostgreSQL" not in run.stderr  # nothing started


def test_database_url_from_the_project_dotenv_is_passed_on(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns(".local", "__pycache__"))
    (project / ".env").write_text("DATABASE_URL=postgresql://dotenv@example.invalid/db\n")
    # the .env is found as neonkit finds it: from the current folder up
    run = localdev("invoke", "EchoFunction", template=project / "template.yaml", cwd=project)
    assert run.returncode == 0, run.stderr
    assert run.payload()["environment"]["DATABASE_URL"] == "postgresql://dotenv@example.invalid/db"
    assert not (project / ".local").exists()


def test_empty_database_variables_count_as_unset(tmp_path: Path) -> None:
    # GIVEN a shell with DATABASE_URL="" and DATABASE_SECRET="" (as `sam local` sets a
    # variable the template leaves to an unresolved !If) and a .env naming the database
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns(".local", "__pycache__"))
    (project / ".env").write_text("DATABASE_URL=postgresql://dotenv@example.invalid/db\n")
    # WHEN a function is invoked
    run = localdev(
        "invoke", "EchoFunction", "--no-db", template=project / "template.yaml", cwd=project,
        env={"DATABASE_URL": "", "DATABASE_SECRET": ""},
    )  # fmt: skip
    # THEN the .env's URL reaches it
    assert run.returncode == 0, run.stderr
    assert run.payload()["environment"]["DATABASE_URL"] == "postgresql://dotenv@example.invalid/db"


def test_a_database_url_given_to_the_function_wins(tmp_path: Path) -> None:
    env_vars = tmp_path / "env.json"
    env_vars.write_text(json.dumps({"EchoFunction": {"DATABASE_URL": "postgresql://own/db"}}))
    run = localdev(
        "invoke", "EchoFunction", "--env-vars", str(env_vars),
        env={"DATABASE_URL": "postgresql://shell@example.invalid/db"},
    )  # fmt: skip
    assert run.payload()["environment"]["DATABASE_URL"] == "postgresql://own/db"
