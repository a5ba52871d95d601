"""The layer's size per architecture, built the way layer/Makefile builds it for `sam build`.

    pip wheel --no-deps -w WHEELS kit/neonkit
    pip install --no-compile --only-binary=:all: --implementation cp --python-version 3.13
        --platform manylinux2014_<arch> --platform manylinux_2_28_<arch>
        -r layer/requirements.txt WHEELS/neonkit-*.whl -t DIR/python
    cp -R layer/python/. DIR/python/
then __pycache__ removed and the folder zipped (deflate, as `sam build` zips). Lambda's
limits: 50 MB zipped for a direct upload, 250 MB unzipped for a function and its layers.
"With bytecode" adds the .pyc files that `compileall` makes (by the Python running this).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from harness import LAYER, ROOT

PLATFORMS = {
    "arm64": ["manylinux2014_aarch64", "manylinux_2_28_aarch64"],
    "x86_64": ["manylinux2014_x86_64", "manylinux_2_28_x86_64"],
}
PYTHON_VERSION = "3.13"  # the template's runtime


def measure() -> dict[str, Any]:
    results: dict[str, Any] = {"python_version": PYTHON_VERSION, "architectures": {}}
    with tempfile.TemporaryDirectory(prefix="neonkit-layer-") as tmp:
        # neonkit from its own wheel, as the Makefile installs it (never from an index)
        wheels = Path(tmp) / "wheels"
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
             "--no-deps", "-w", str(wheels), str(ROOT / "kit" / "neonkit")],
            check=True,
        )  # fmt: skip
        neonkit_wheel = str(next(wheels.glob("neonkit-*.whl")))
        installs = {}
        for arch, platforms in PLATFORMS.items():  # both downloads at once
            target = Path(tmp) / arch / "python"
            argv = [
                sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "--no-compile", "--only-binary=:all:", "--implementation", "cp",
                "--python-version", PYTHON_VERSION,
                *[arg for p in platforms for arg in ("--platform", p)],
                "-r", str(ROOT / "layer" / "requirements.txt"), neonkit_wheel,
                "-t", str(target),
            ]  # fmt: skip
            installs[arch] = (target, subprocess.Popen(argv, stderr=subprocess.PIPE, text=True))
        for arch, (target, process) in installs.items():
            _, err = process.communicate(timeout=300)
            if process.returncode != 0:
                results["architectures"][arch] = {"error": err.strip().splitlines()[-1:]}
                continue
            shutil.copytree(LAYER, target, dirs_exist_ok=True)
            for cache in list(target.rglob("__pycache__")):
                shutil.rmtree(cache, ignore_errors=True)
            row: dict[str, Any] = {
                "as built": _sizes(target.parent, Path(tmp) / f"{arch}.zip"),
                "largest": _largest(target),
            }
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", "-j", "0",
                 "--invalidation-mode", "unchecked-hash", str(target)],
                check=True,
            )  # fmt: skip
            row["with bytecode"] = _sizes(target.parent, Path(tmp) / f"{arch}-pyc.zip")
            results["architectures"][arch] = row
    results["bytecode_compiled_by"] = f"{sys.version_info.major}.{sys.version_info.minor}"
    return results


def _sizes(folder: Path, archive: Path) -> dict[str, Any]:
    unzipped = 0
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                unzipped += path.stat().st_size
                zf.write(path, path.relative_to(folder))
    return {
        "unzipped_mb": round(unzipped / 1e6, 2),
        "zipped_mb": round(archive.stat().st_size / 1e6, 2),
        "files": sum(1 for p in folder.rglob("*") if p.is_file()),
    }


def _largest(python: Path, top: int = 6) -> dict[str, float]:
    """Unzipped MB per top-level package."""
    sizes = {}
    for entry in python.iterdir():
        if entry.name.endswith(".dist-info"):
            continue
        files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        sizes[entry.name] = sum(os.path.getsize(p) for p in files)
    ranked = sorted(sizes.items(), key=lambda kv: -kv[1])[:top]
    return {name: round(size / 1e6, 2) for name, size in ranked}
