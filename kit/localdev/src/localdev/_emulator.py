"""AWS's own Lambda runtime without Docker: the Runtime Interface Emulator in front of awslambdaric.

The SAM CLI's package ships the emulator (`samcli/local/rapid/aws-lambda-rie-<arch>`), the
binary its Docker images run; `awslambdaric` is the runtime client of Lambda's Python images.
Together they run a built function as Lambda's Python runtime does (its handler loading,
context, error shapes, log format and timeouts), in a process of this machine:

    runtime = LambdaRuntime.prepare("3.13", cache_dir)       # or RuntimeUnavailable
    with EmulatedFunction(runtime, function, environment, log_path) as emulated:
        answer = emulated.invoke({"version": "2.0", ...})

One warm process per function, on free ports, as one execution environment: a timeout kills
the runtime and the next invocation starts it again. The runtime's Python is the template's
version (found on PATH, pyenv or uv); awslambdaric and boto3 (which Lambda's runtime has) are
installed for it into a cache folder. Only Linux on the emulator's two architectures.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._postgres import free_port, wait_until_accepting
from ._target import find_python
from ._template import Function

__all__ = [
    "RUNTIME_PACKAGES",
    "Emulated",
    "EmulatedFunction",
    "LambdaRuntime",
    "RuntimeUnavailable",
    "find_sam",
    "machine_architecture",
]

# What Lambda's Python runtime brings besides the standard library.
RUNTIME_PACKAGES = ("awslambdaric==4.2.2", "boto3==1.44.8")
_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
_PLATFORMS = {"x86_64": "x86_64", "arm64": "aarch64"}
_INVOKE_PATH = "/2015-03-31/functions/function/invocations"
_START = re.compile(r"^START RequestId: (\S+)", re.MULTILINE)
_EMULATOR_LINE = re.compile(r"^\d\d \w{3} \d{4} [\d:,]+ \[\w+\] \(rapid\)")
_PLATFORM_LINE = re.compile(r"^(START|END|REPORT|INIT_REPORT) RequestId|^(START|END|REPORT) ")
_INIT_LIMIT = 10.0  # seconds Lambda gives the init phase; the first answer may take that more


class RuntimeUnavailable(Exception):
    """The emulator cannot run here (the reason says why)."""


def machine_architecture() -> str | None:
    """This machine as Lambda names architectures (arm64, x86_64); None for others."""
    if sys.platform != "linux":
        return None
    return _MACHINES.get(platform.machine().lower())


def find_sam(project: Path) -> Path | None:
    """The `sam` command: the project's tools virtualenv (.venv-tools), else PATH."""
    for candidate in (project / ".venv-tools" / "bin" / "sam", shutil.which("sam")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@dataclass(frozen=True)
class LambdaRuntime:
    """Where the pieces are: the emulator, the runtime's Python, and awslambdaric for it."""

    rie: Path
    python: Path
    packages: Path  # awslambdaric and boto3, as in the runtime's own site-packages
    version: str  # 3.13

    @classmethod
    def prepare(cls, version: str, sam: Path | None, cache_dir: Path) -> LambdaRuntime:
        architecture = machine_architecture()
        if architecture is None:
            raise RuntimeUnavailable(
                f"the Runtime Interface Emulator runs on Linux x86_64 or arm64, "
                f"not {sys.platform} {platform.machine()}"
            )
        if sam is None:
            raise RuntimeUnavailable(
                "no SAM CLI (it ships the emulator): `make .venv-tools/.installed` installs it"
            )
        rie = _rie_binary(sam, architecture)
        python = find_python(version)
        if python is None:
            raise RuntimeUnavailable(
                f"no Python {version} (the template's runtime) on PATH, pyenv or uv: install it, "
                f"for example `uv python install {version}`"
            )
        packages = _install_packages(version, architecture, cache_dir)
        return cls(rie, Path(python), packages, version)


@dataclass(frozen=True)
class Emulated:
    """One answer of the emulated function."""

    request_id: str
    payload: bytes  # the function's result as JSON, its error JSON, or the emulator's text
    logs: list[str]  # what the function wrote (the emulator's and platform lines left out)
    report: str  # the platform's REPORT line

    @property
    def timed_out(self) -> bool:
        return self.payload.startswith(b"Task timed out after")

    def result(self) -> Any:
        return json.loads(self.payload)


class EmulatedFunction:
    """One function under the emulator: one warm runtime process, one invocation at a time."""

    def __init__(
        self,
        runtime: LambdaRuntime,
        function: Function,
        environment: Mapping[str, str],
        log_path: Path,
    ) -> None:
        self.runtime = runtime
        self.function = function
        self.log_path = log_path
        paths = [*map(str, function.layer_paths), str(runtime.packages)]
        self.environment = {**environment, "PYTHONPATH": os.pathsep.join(paths)}
        self._process: subprocess.Popen[bytes] | None = None
        self._port = 0

    def start(self) -> None:
        self._port, api_port = free_port(), free_port()
        argv = [
            str(self.runtime.rie),
            "--runtime-interface-emulator-address", f"127.0.0.1:{self._port}",
            "--runtime-api-address", f"127.0.0.1:{api_port}",
            # No site-packages of this machine: the code, its layers, the runtime's packages.
            str(self.runtime.python), "-S", "-m", "awslambdaric", self.function.handler,
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - the SAM CLI's emulator binary
                argv,
                cwd=self.function.code_dir,
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until_accepting("127.0.0.1", self._port)
        except Exception:
            self.close()
            raise RuntimeUnavailable(f"the emulator did not start:\n{self._log_text()}") from None

    def invoke(self, event: Any) -> Emulated:
        if self._process is None:
            self.start()
        offset = self.log_path.stat().st_size
        request = urllib.request.Request(
            f"http://127.0.0.1:{self._port}{_INVOKE_PATH}",
            data=json.dumps(event).encode(),
            method="POST",
        )
        wait = self.function.timeout + _INIT_LIMIT + 5
        try:
            with urllib.request.urlopen(request, timeout=wait) as response:  # noqa: S310 - local
                payload = response.read()
        except urllib.error.HTTPError as error:
            payload = error.read()
        return self._answer(payload, offset)

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()

    def __enter__(self) -> EmulatedFunction:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _answer(self, payload: bytes, offset: int) -> Emulated:
        """The answer with its log lines: waits for the platform's REPORT line to be written."""
        deadline = time.monotonic() + 10
        while True:
            text = self._log_text(offset)
            start = _START.search(text)
            request_id = start.group(1) if start else ""
            report = re.search(rf"^REPORT RequestId: {re.escape(request_id)}.*$", text, re.M)
            if start and report:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the emulator logged no REPORT line:\n{text}")
            time.sleep(0.01)
        section = text[start.end() : report.start()].splitlines()
        logs = [
            line
            for line in section[1:]
            if line.strip() and not _EMULATOR_LINE.match(line) and not _PLATFORM_LINE.match(line)
        ]
        return Emulated(request_id, payload, logs, report.group(0))

    def _log_text(self, offset: int = 0) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")


def _rie_binary(sam: Path, architecture: str) -> Path:
    """The emulator inside the SAM CLI's package, found through the Python that runs `sam`."""
    first_line = sam.read_bytes().split(b"\n", 1)[0].decode(errors="replace")
    python = first_line[2:].strip() if first_line.startswith("#!") else sys.executable
    result = subprocess.run(  # noqa: S603 - the SAM CLI's own interpreter
        [*python.split(), "-c", "import samcli, os; print(os.path.dirname(samcli.__file__))"],
        capture_output=True,
        text=True,
        check=False,
    )
    rie = Path(result.stdout.strip()) / "local" / "rapid" / f"aws-lambda-rie-{architecture}"
    if result.returncode != 0 or not rie.is_file():
        raise RuntimeUnavailable(f"the SAM CLI at {sam} ships no aws-lambda-rie-{architecture}")
    return rie


def _install_packages(version: str, architecture: str, cache_dir: Path) -> Path:
    """awslambdaric and boto3 for that Python and machine, installed once per cache folder."""
    target = cache_dir / f"python{version}-{architecture}"
    marker = target / ".installed"
    wanted = "\n".join(RUNTIME_PACKAGES)
    if marker.is_file() and marker.read_text() == wanted:
        return target
    shutil.rmtree(target, ignore_errors=True)
    machine = _PLATFORMS[architecture]
    result = subprocess.run(  # noqa: S603 - pip, fixed arguments
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-compile", "--only-binary=:all:", "--implementation", "cp",
            "--python-version", version,
            "--platform", f"manylinux2014_{machine}", "--platform", f"manylinux_2_28_{machine}",
            "--target", str(target), *RUNTIME_PACKAGES,
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeUnavailable(f"cannot install {', '.join(RUNTIME_PACKAGES)}: {result.stderr}")
    marker.write_text(wanted)
    return target
