"""The runtime tier: the app built by `sam build`, run under AWS's own Lambda runtime.

Every function of the project's template is built as `sam build` builds it (once per run,
for this machine's architecture), then run under the Runtime Interface Emulator that the
SAM CLI ships in front of `awslambdaric`, the built layer's `python/` as /opt/python. Where
the emulator cannot run (another OS or architecture, no SAM CLI, no Python of the template's
version), the tier is skipped with the reason; with NEONKIT_REQUIRE_RUNTIME=1 (CI) the skip
is a failure. Nothing here knows the sample app: it reads template.yaml and events/.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from localdev._emulator import (
    LambdaRuntime,
    RuntimeUnavailable,
    find_sam,
    machine_architecture,
)
from localdev._target import target
from localdev.testing import password_role, project_root, scratch_database

REQUIRE_ENV = "NEONKIT_REQUIRE_RUNTIME"


def unavailable(reason: str) -> None:
    """Skip with the reason; fail instead where the tier is required (CI)."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"the runtime tier cannot run: {reason} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(f"the runtime tier cannot run: {reason}")


def template_path() -> Path:
    return project_root() / "template.yaml"


@pytest.fixture(scope="session")
def lambda_runtime(request: pytest.FixtureRequest) -> LambdaRuntime:
    """The emulator, the template's Python and awslambdaric for it (cached between runs)."""
    _, version = target(template_path().read_text(encoding="utf-8"))
    cache = Path(request.config.cache.mkdir("localdev-runtime"))
    try:
        return LambdaRuntime.prepare(version, find_sam(project_root()), cache)
    except RuntimeUnavailable as exc:
        unavailable(str(exc))
        raise


@pytest.fixture(scope="session")
def sam_build(lambda_runtime: LambdaRuntime, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` of the project, once per run, for this machine's architecture."""
    sam = find_sam(project_root())
    assert sam is not None  # lambda_runtime found it
    build_dir = tmp_path_factory.mktemp("sam-build")
    env = {
        **os.environ,
        "PATH": f"{sam.parent}{os.pathsep}{os.environ.get('PATH', '')}",  # sam's own python3
        "LAYER_ARCH": str(machine_architecture()),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "SAM_CLI_TELEMETRY": "0",
    }
    result = subprocess.run(
        [str(sam), "build", "--template-file", str(template_path()), "--build-dir", str(build_dir)],
        cwd=project_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"sam build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return build_dir


@dataclass(frozen=True)
class Databases:
    """Two databases with the same history: one for each runtime, so both see the same state."""

    emulated: str
    local: str
    password: str  # of the role both log in as: no log line may show it


@pytest.fixture(scope="module")
def databases(admin_url: str) -> Iterator[Databases]:
    from neonkit.migrations import migrate

    password = secrets.token_urlsafe(18)
    role_url = password_role(admin_url, "neonkit_runtime_tier", password)
    role = psycopg.conninfo.conninfo_to_dict(role_url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        # The databases' owner, as Neon's owner role (neondb_owner) is: it may create roles
        conn.execute(f'ALTER ROLE "{role["user"]}" CREATEROLE')
    with scratch_database(admin_url) as first, scratch_database(admin_url) as second:
        urls = []
        for url in (first, second):
            name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{name}" OWNER TO "{role["user"]}"')
            own_url = psycopg.conninfo.make_conninfo("", **{**role, "dbname": name})
            migrations = project_root() / "migrations"
            if migrations.is_dir():
                migrate(own_url, migrations)
            urls.append(own_url)
        yield Databases(urls[0], urls[1], password)
