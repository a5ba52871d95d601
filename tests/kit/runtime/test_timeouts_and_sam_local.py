"""A function timeout, and the environment `sam local invoke` gives, under AWS's runtime."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from localdev._emulator import EmulatedFunction, LambdaRuntime
from localdev._environment import lambda_environment
from localdev._events import function_for_event, in_running_order, is_http_event
from localdev._parameters import EnvVars
from localdev._sandbox import Sandbox
from localdev._template import Template
from localdev.testing import project_root

from .conftest import Databases, template_path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "localdev" / "template.yaml"


def test_timeout_from_the_template_is_answered_as_lambda_does(
    lambda_runtime: LambdaRuntime, tmp_path: Path
) -> None:
    # GIVEN a function whose Timeout (1 s in its template) is shorter than its work
    template = Template.load(FIXTURE)
    function = template.function("SleepyFunction")
    environment = lambda_environment(function, {}, template.region, host=os.environ)
    expected = f"Task timed out after {function.timeout:.2f} seconds"
    with (
        EmulatedFunction(lambda_runtime, function, environment, tmp_path / "rie.log") as emulated,
        (tmp_path / "localdev.log").open("wb") as log,
        Sandbox(function, environment, lambda line: None, log.fileno()) as sandbox,
    ):
        # WHEN it runs past it, under AWS's runtime and under localdev
        emulated_answer = emulated.invoke({"seconds": 5})
        local = sandbox.invoke({"seconds": 5})
        # THEN both stop it at its Timeout, with Lambda's words
        assert emulated_answer.payload.decode() == expected
        assert local.status == "timeout"
        assert json.loads(local.payload)["errorMessage"].endswith(f"Error: {expected}")
        # AND the next invocation gets a new runtime that answers
        assert emulated.invoke({"seconds": 0}).result() == {"slept": 0}
        again = sandbox.invoke({"seconds": 0})
        assert again.result() == {"slept": 0}
        assert again.init_ms is not None  # a cold start


def test_sam_local_empty_database_variables_and_env_vars_file_reach_the_database(
    lambda_runtime: LambdaRuntime, sam_build: Path, databases: Databases, tmp_path: Path
) -> None:
    # GIVEN a built function, the environment `sam local invoke` gives it (SAM CLI leaves a
    # template's !If unresolved: DATABASE_URL="" and DATABASE_SECRET=""), and the database
    # given by an --env-vars file in SAM's format
    source = Template.load(template_path())
    built = Template.load(sam_build / "template.yaml")
    path, function_id = a_readonly_http_event(source)
    env_vars = tmp_path / "env.json"
    env_vars.write_text(json.dumps({"Parameters": {"DATABASE_URL": databases.emulated}}))
    function = built.function(function_id)
    overrides = {"DATABASE_URL": "", "DATABASE_SECRET": ""}
    overrides.update(EnvVars.load(str(env_vars)).for_function(function_id))
    environment = lambda_environment(function, overrides, built.region, host=os.environ)
    # WHEN the event is invoked under AWS's runtime
    with EmulatedFunction(lambda_runtime, function, environment, tmp_path / "rie.log") as emulated:
        answer = emulated.invoke(json.loads(path.read_text(encoding="utf-8"))).result()
    # THEN the function reached the database
    assert 200 <= answer["statusCode"] < 300, answer


def a_readonly_http_event(template: Template) -> tuple[Path, str]:
    """The first GET event of events/ that names no row (a list) and promises success."""
    for path in in_running_order((project_root() / "events").glob("*.json")):
        event = json.loads(path.read_text(encoding="utf-8"))
        promises_error = path.stem.endswith(("_missing", "_invalid", "_malformed", "_too_large"))
        if (
            is_http_event(event)
            and event["requestContext"]["http"]["method"] == "GET"
            and not event.get("pathParameters")
            and not promises_error
        ):
            return path, function_for_event(template.functions(), path.stem, event).logical_id
    pytest.skip("events/ has no GET event of a list that promises success")
