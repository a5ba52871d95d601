"""README's "Make it yours", followed as a team would: on a clone of this repository (its last
commit), each of its shell blocks in order, each file it shows written where its first line
says, and each block of `curl` requests sent to `make dev`.

What it shows, besides that every command of the guide works as written:
- the scaffold's resource needs no hand edit: its tests pass, and `make dev` serves it on the
  embedded database with its migration applied (POST 201, GET 200, a PATCH of the wrong type a
  422 naming the field), `/openapi.json` describing its operations and its fields' types;
- after the sample is removed as the guide says, the kit's tests and the app's checks pass.

`make test` runs everything; here each step's `make test` runs the tests that step concerns
(TESTS below), so that the walk-through takes a few minutes: the suite around it runs the rest.
The clone uses this virtualenv (a view of it whose stamps say it is up to date, so that `make`
installs nothing).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.kit.support.served import free_port, http_json

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# The tests each step's `make test` runs, by the step's heading.
TESTS = {
    "Add a resource": "tests/projects",
    "Change a field": "tests/projects",
    "Add a route by hand": "tests/projects tests/app/test_contract.py",
    "Remove the sample": "tests/kit/unit tests/kit/integration/test_resources_api.py "
    "tests/kit/integration/test_hostile_input.py tests/kit/integration/test_localdev_serve.py "
    "tests/kit/integration/test_migrations.py tests/app",
}
DEADLINE = 600  # seconds any one command may take


class Block(NamedTuple):
    step: str  # the heading of the guide's step it is in
    language: str
    code: str


def guide() -> list[Block]:
    """The code blocks of README's "Make it yours", in order, each with its step."""
    text = README.read_text()
    section = text[text.index("## Make it yours\n") :]
    section = section[: section.index("\n## ", 1)]
    blocks = []
    step = ""
    for match in re.finditer(r"^### ([^\n]+)$|^```(\w+)\n(.*?)^```$", section, re.M | re.S):
        if match[1]:
            step = match[1]
        else:
            blocks.append(Block(step, match[2], match[3]))
    return blocks


def test_the_guide_has_every_step() -> None:
    steps = {block.step for block in guide()}
    assert {
        "Start a project from the kit",
        "Take a kit upgrade",
        "Rename the service",
        "Add a resource",
        "Change a field",
        "Add a route by hand",
        "Remove the sample",
    } <= steps
    assert {block.language for block in guide()} == {"sh", "sql", "python"}


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository as last committed, on a branch `main`: the kit the guide clones."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("the guide's walk-through clones this repository: it needs git and a checkout")
    repository = tmp_path_factory.mktemp("kit") / "kit"
    env = environment({})
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repository)], env=env, check=True)
    subprocess.run(["git", "checkout", "-q", "-B", "main"], cwd=repository, env=env, check=True)
    if (repository / "layer" / "python" / "projects").exists():
        pytest.skip(
            "this app has committed a resource `projects`: the walk-through, which adds it, "
            "starts from the kit as it comes"
        )
    return repository


@pytest.mark.timeout(1200)  # the walk-through: a few minutes (its steps' timings are printed)
def test_the_guide_works_from_a_clone_to_an_api_of_your_own(kit: Path, tmp_path: Path) -> None:
    venv = Path(sys.prefix)
    if venv == Path(sys.base_prefix):
        pytest.skip("the walk-through reuses the tests' virtualenv; these run outside one")
    tools = ROOT / ".venv-tools" if (ROOT / ".venv-tools" / "bin").is_dir() else venv
    env = environment(
        {
            "VENV": str(view(venv, tmp_path / "venv", [".dev", ".test"])),
            "TOOLS": str(view(tools, tmp_path / "tools", [".installed"])),
        }
    )
    workspace = tmp_path / "work"
    workspace.mkdir()
    project = workspace  # the first block clones the kit into my-api and goes there
    ran: list[str] = []
    for block in guide():
        started = time.monotonic()
        if block.language == "sh" and block.code.lstrip().startswith("curl"):
            with make_dev(project, env) as base:
                code = block.code.replace("localhost:3000", base.removeprefix("http://"))
                check_served(block.step, base, sh(code, project, env))
        elif block.language == "sh":
            code = block.code.replace("<kit-url>", str(kit))
            sh(code, project, {**env, "PYTEST_ARGS": TESTS.get(block.step, "tests/kit/unit")})
            if "git clone" in code:
                project = workspace / "my-api"
        else:
            write_shown_file(project, block)
        ran.append(f"{block.step}: {block.language} ({time.monotonic() - started:.1f} s)")
        check_step(block.step, project)
    print("\n".join(ran))
    assert len(ran) >= 12, ran


# -- running the guide's blocks ------------------------------------------------------------


def sh(code: str, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", code],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=DEADLINE, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"$ {code}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def write_shown_file(project: Path, block: Block) -> None:
    """A block whose first line names a file (`# path`, `-- path`) is that file's content.
    Where the file exists, the guide may only add lines to it, so that it shows all of it."""
    first, _, content = block.code.partition("\n")
    path = project / first.removeprefix("# ").removeprefix("-- ").strip()
    if path.exists():
        old = path.read_text().splitlines()
        changes = difflib.SequenceMatcher(None, old, content.splitlines()).get_opcodes()
        assert {tag for tag, *_ in changes} <= {"equal", "insert"}, f"{path}: lines removed"
    path.write_text(content)


def check_step(step: str, project: Path) -> None:
    """What each step must have done, beyond its commands' success."""
    if step == "Rename the service":
        assert "POWERTOOLS_SERVICE_NAME: projects" in (project / "template.yaml").read_text()
        assert 'title="Projects API"' in (project / "functions/api/app.py").read_text()
    if step == "Remove the sample":
        assert not (project / "layer/python/todos").exists()
        assert not list((project / "events").glob("todos_*"))
        template = (project / "template.yaml").read_text()
        assert "sample:" not in template
        assert "Todos" not in template
        assert "todos" not in (project / "functions/api/routes/__init__.py").read_text()


def check_served(step: str, base: str, out: str) -> None:
    """The guide's requests got what it says, and the served API what the scaffold promises."""
    if step == "Add a resource":
        assert '"name":"Apollo"' in out
        assert '"field":"budget"' in out
        # GIVEN the API `make dev` serves, WHEN a project is made, read and changed wrongly
        status, created = http_json(base, "POST", "/projects", {"name": "Gemini", "budget": 5})
        assert status == 201, created
        status, fetched = http_json(base, "GET", f"/projects/{created['id']}")
        assert (status, fetched) == (200, created)
        status, error = http_json(base, "PATCH", f"/projects/{created['id']}", {"budget": "5"})
        assert status == 422, error
        assert [problem["field"] for problem in error["details"]] == ["budget"]
        # THEN its document lists the operations, with the fields' types
        status, document = http_json(base, "GET", "/openapi.json")
        assert status == 200
        assert set(document["paths"]["/projects"]) == {"get", "post"}
        assert set(document["paths"]["/projects/{id}"]) == {"get", "patch", "delete"}
        schema = document["components"]["schemas"]["Project"]["properties"]
        assert schema["budget"]["type"] == ["integer", "null"]
        assert schema["due"] == {"type": ["string", "null"], "format": "date"}
        assert schema["tags"]["items"]["type"] == "string"
        assert http_json(base, "DELETE", f"/projects/{created['id']}")[0] == 204
    elif step == "Add a route by hand":
        assert json.loads(out) == {"count": 1, "budget": 1000}
        status, document = http_json(base, "GET", "/openapi.json")
        assert "200" in document["paths"]["/projects/summary"]["get"]["responses"]
        assert "ProjectSummary" in document["components"]["schemas"]
        status, projects = http_json(base, "GET", "/projects?status=open")
        assert [p["status"] for p in projects["items"]] == ["open"]


@contextmanager
def make_dev(project: Path, env: dict[str, str]) -> Iterator[str]:
    """`make dev` on a free port, stopped (with the PostgreSQL it started) afterwards."""
    port = free_port()
    log = project / ".local" / f"dev-{port}.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "dev", f"PORT={port}"],
            cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "Running on" not in log.read_text(errors="replace"):  # it says it listens
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def view(venv: Path, where: Path, stamps: list[str]) -> Path:
    """A virtualenv that is `venv` (its files linked) with `make`'s stamps dated ahead."""
    where.mkdir()
    for entry in venv.iterdir():
        if not entry.name.startswith("."):
            (where / entry.name).symlink_to(entry)
    ahead = time.time() + 10 * 365 * 24 * 3600
    for stamp in stamps:
        (where / stamp).touch()
        os.utime(where / stamp, (ahead, ahead))
    return where


def environment(extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "PYTEST_", "VIRTUAL_ENV", "MAKE"))
    }
    identity = {"GIT_AUTHOR_NAME": "Guide", "GIT_AUTHOR_EMAIL": "guide@example.com"}
    identity |= {"GIT_COMMITTER_NAME": "Guide", "GIT_COMMITTER_EMAIL": "guide@example.com"}
    return {**env, **identity, **extra}
