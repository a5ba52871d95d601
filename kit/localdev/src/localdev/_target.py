"""What the layer is built for: the template's Lambda runtime and architecture.

    python3 _target.py template.yaml     prints `arm64 3.13`
    python3 _target.py --python 3.13     prints the path of a local Python 3.13

The template's `Globals.Function` holds the one setting (`Runtime: python3.13`,
`Architectures: [arm64]`) that every function and the layer share: the layer's wheels and
bytecode must match it. Standard library only and runnable as a script, so that any `python3` that
runs the layer's Makefile can run it (localdev need not be installed there): the two keys
must therefore be plain values, not intrinsics. The
interpreter of the runtime's version compiles the layer's bytecode (found on PATH, through
pyenv, or through uv).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ARCHITECTURES = ("arm64", "x86_64")
_RUNTIME = re.compile(r"python(3\.\d+)")


class TargetError(Exception):
    pass


def target(template_text: str) -> tuple[str, str]:
    """(architecture, Python version) from the template's Globals.Function."""
    function = _block(_block(template_text.splitlines(), "Globals"), "Function")
    runtime = _scalar(function, "Runtime")
    architectures = _list(function, "Architectures")
    where = "Globals.Function"
    match = _RUNTIME.fullmatch(runtime or "")
    if match is None:
        raise TargetError(f"{where}.Runtime: expected a plain pythonX.Y, got {runtime!r}")
    if len(architectures) != 1 or architectures[0] not in ARCHITECTURES:
        raise TargetError(
            f"{where}.Architectures: expected [arm64] or [x86_64], got {architectures!r}"
        )
    return architectures[0], match.group(1)


def find_python(version: str) -> str | None:
    """A local interpreter of that version: pythonX.Y on PATH, else pyenv's, else uv's."""
    candidates = [shutil.which(f"python{version}")]
    if shutil.which("pyenv"):
        prefix = _output(["pyenv", "prefix", version])
        candidates.append(f"{prefix}/bin/python{version}" if prefix else None)
    if shutil.which("uv"):
        candidates.append(_output(["uv", "python", "find", "--no-project", version]))
    for candidate in candidates:
        if candidate and _output([candidate, "-c", _VERSION_CHECK]) == version:
            return candidate
    return None


_VERSION_CHECK = "import sys; print('%d.%d' % sys.version_info[:2])"


def _output(argv: list[str]) -> str | None:
    try:
        result = subprocess.run(  # noqa: S603 - fixed commands, looking for an interpreter
            argv, capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _block(lines: list[str], key: str) -> list[str]:
    """The lines under `key:` (at the shallowest indentation of `lines`), dedented."""
    content = [line for line in lines if _clean(line)]
    if not content:
        raise TargetError(f"no {key} section")
    indent = min(_indent(line) for line in content)
    for i, line in enumerate(content):
        if _indent(line) == indent and _clean(line) == f"{key}:":
            block = []
            for inner in content[i + 1 :]:
                if _indent(inner) <= indent:
                    break
                block.append(inner)
            return block
    raise TargetError(f"no {key}: section")


def _scalar(lines: list[str], key: str) -> str | None:
    indent = min((_indent(line) for line in lines), default=0)
    for line in lines:
        name, _, value = _clean(line).partition(":")
        if _indent(line) == indent and name == key:
            return value.strip().strip("\"'")
    return None


def _list(lines: list[str], key: str) -> list[str]:
    value = _scalar(lines, key)
    if value is None:
        return []
    if value.startswith("[") and value.endswith("]"):
        return [item.strip().strip("\"'") for item in value[1:-1].split(",") if item.strip()]
    if value:
        return [value]
    items = _block(lines, key)
    return [_clean(item)[1:].strip().strip("\"'") for item in items if _clean(item)[:1] == "-"]


def _clean(line: str) -> str:
    """The line without its comment and surrounding blanks."""
    return re.sub(r"(^|\s)#.*$", "", line).strip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--python":
        python = find_python(argv[1])
        if python is None:
            print(
                f"The layer's bytecode needs Python {argv[1]}, Lambda's runtime, and none was "
                f"found (python{argv[1]} on PATH, pyenv or uv). Install it, for example with "
                f"`uv python install {argv[1]}` or `pyenv install {argv[1]}`.",
                file=sys.stderr,
            )
            return 1
        print(python)
        return 0
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        architecture, version = target(path.read_text(encoding="utf-8"))
    except (OSError, TargetError) as exc:
        print(f"{path}: cannot tell what the layer is built for: {exc}", file=sys.stderr)
        return 1
    print(architecture, version)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
