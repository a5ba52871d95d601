"""The sandbox process behind invoke and serve, driven directly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from localdev._environment import lambda_environment
from localdev._sandbox import INIT_LIMIT, Sandbox
from localdev._template import Template

TEMPLATE = Path(__file__).resolve().parents[1] / "fixtures" / "localdev" / "template.yaml"


def sandbox(function_id: str, lines: list[str], *, init_limit: float = INIT_LIMIT) -> Sandbox:
    template = Template.load(TEMPLATE)
    function = template.function(function_id)
    environment = lambda_environment(function, {}, template.region, host={})
    return Sandbox(function, environment, log=lines.append, init_limit=init_limit)


def test_init_past_the_limit_goes_on_inside_the_invocation() -> None:
    # GIVEN a module that takes 0.4 s to import, and an init limit of 0.1 s
    lines: list[str] = []
    with sandbox("SlowImportFunction", lines, init_limit=0.1) as box:
        # WHEN it is invoked
        invocation = box.invoke({})
    # THEN Lambda's init timeout is reported, and the invocation still succeeds
    assert invocation.ok, invocation.payload
    assert invocation.result() == {"imported": True}
    assert lines[0] == "INIT_REPORT Init Duration: 100.00 ms\tPhase: init\tStatus: timeout"
    assert invocation.init_ms is None  # the rest of init counts in the invocation's Duration
    assert "Init Duration" not in lines[-1]


def test_invocations_report_what_lambda_reports() -> None:
    lines: list[str] = []
    with sandbox("EchoFunction", lines) as box:
        assert not box.warm
        cold = box.invoke({"n": 1})
        assert box.warm
        warm = box.invoke({"n": 2})
    assert cold.init_ms is not None
    assert warm.init_ms is None
    assert cold.result()["event"] == {"n": 1}
    assert (cold.status, cold.error_type, cold.max_memory_mb > 0) == ("success", None, True)
    assert [line.split(" ")[0] for line in lines] == ["START", "END", "REPORT"] * 2


def test_the_memory_reported_is_the_functions_not_its_parents() -> None:
    # GIVEN a parent process 300 MB larger than the function will ever be
    ballast = bytearray(300 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touched: resident
    lines: list[str] = []
    # WHEN it starts a sandbox (fork, then exec) and invokes the function
    with sandbox("EchoFunction", lines) as box:
        invocation = box.invoke({})
    del ballast
    # THEN Max Memory Used is the function's own peak, not the parent's
    assert 0 < invocation.max_memory_mb < 200
    assert not any("warning" in line for line in lines)


def test_close_ends_the_process() -> None:
    lines: list[str] = []
    box = sandbox("EchoFunction", lines)
    pid = box.invoke({}).result()["pid"]
    box.close()
    box.close()  # twice is fine
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


def test_memory_used_is_the_functions_own_not_its_parents() -> None:
    # GIVEN a parent process that once used 300 MB (a long test run, say) before it starts a
    # sandbox for a function with 256 MB
    script = f"""
import sys
from localdev._environment import lambda_environment
from localdev._sandbox import Sandbox
from localdev._template import Template
ballast = bytearray(300 * 1024 * 1024)
ballast[::4096] = b"x" * len(ballast[::4096])
del ballast
template = Template.load({str(TEMPLATE)!r})
function = template.function("EchoFunction")
environment = lambda_environment(function, {{}}, template.region, host={{}})
with Sandbox(function, environment, log=lambda line: None) as box:
    print(box.invoke({{}}).max_memory_mb)
"""
    # WHEN the function is invoked
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    # THEN its Max Memory Used is its own: well under its 256 MB, not the parent's 300
    assert 0 < int(run.stdout) < 100, run.stdout
