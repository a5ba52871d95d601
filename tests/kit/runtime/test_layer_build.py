"""The layer's Makefile, run as `sam build` runs it, for both of Lambda's architectures.

Each build must give psycopg_binary wheels tagged for that machine and the runtime's CPython,
bytecode for the runtime's Python, neonkit from the kit's own sources even when a package
index offers a `neonkit` of the same version, and no file naming the build machine
(`.ci/check_layer.py` checks all of it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from localdev._emulator import LambdaRuntime, find_sam
from localdev._target import target
from localdev.testing import project_root

from .conftest import template_path


def fake_neonkit_wheel(folder: Path, version: str) -> Path:
    """A `neonkit` as another project could publish it on an index."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"neonkit-{version}-py3-none-any.whl"
    info = f"neonkit-{version}.dist-info"
    files = {
        "neonkit/__init__.py": "TAKEN_FROM_AN_INDEX = True\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: neonkit\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_layer_for_each_architecture(
    architecture: str, lambda_runtime: LambdaRuntime, tmp_path: Path
) -> None:
    # GIVEN a package index that offers its own neonkit of the kit's version
    sam = find_sam(project_root())
    assert sam is not None
    _, version = target(template_path().read_text(encoding="utf-8"))
    index = tmp_path / "index"
    fake_neonkit_wheel(index, "0.2.0")
    artifacts = tmp_path / "build" / "NeonKitLayer"
    env = {
        **os.environ,
        "PATH": f"{sam.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "ARTIFACTS_DIR": str(artifacts),
        "LAYER_ARCH": architecture,
        "PIP_FIND_LINKS": str(index),
    }
    # WHEN the layer is built as `sam build` builds it
    result = subprocess.run(
        ["make", "-f", str(project_root() / "layer" / "Makefile"), "build-NeonKitLayer"],
        cwd=project_root() / "layer",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # THEN it holds what Lambda needs for that architecture and Python, and nothing else
    check = subprocess.run(
        [
            sys.executable, str(project_root() / ".ci" / "check_layer.py"),
            str(artifacts.parent), "--arch", architecture, "--python", version,
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture]
    tag = "cp" + version.replace(".", "")
    (wheel_info,) = (artifacts / "python").glob("psycopg_binary-*.dist-info/WHEEL")
    tags = [line for line in wheel_info.read_text().splitlines() if line.startswith("Tag: ")]
    assert tags
    assert all(t.startswith(f"Tag: {tag}-{tag}-manylinux") for t in tags), tags
    assert all(t.endswith(f"_{machine}") for t in tags), tags
    init = (artifacts / "python" / "neonkit" / "__init__.py").read_text()
    assert "TAKEN_FROM_AN_INDEX" not in init


def test_a_runtime_python_that_is_missing_fails_the_build_saying_what_to_install(
    lambda_runtime: LambdaRuntime, tmp_path: Path
) -> None:
    sam = find_sam(project_root())
    assert sam is not None
    env = {
        **os.environ,
        "PATH": f"{sam.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "ARTIFACTS_DIR": str(tmp_path / "NeonKitLayer"),
        "LAYER_PYTHON": "3.99",
    }
    result = subprocess.run(
        ["make", "-f", str(project_root() / "layer" / "Makefile"), "build-NeonKitLayer"],
        cwd=project_root() / "layer",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "needs Python 3.99" in result.stderr
    assert "uv python install 3.99" in result.stderr
    assert not (tmp_path / "NeonKitLayer" / "python").exists()  # failed before building
