"""The layer's target (runtime and architecture) read from a template's Globals.Function."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from localdev import _target
from localdev._target import TargetError, find_python, target

ROOT = Path(__file__).resolve().parents[3]

FLOW = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.14 # the newest
    Architectures: [x86_64]
    Timeout: 25
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Architectures: [arm64]
"""

BLOCK = """\
Globals:
    Api:
        Runtime: python2.7
    Function:
        Architectures:
          - "arm64"
        Runtime: 'python3.13'
"""


def test_flow_style_with_comments() -> None:
    assert target(FLOW) == ("x86_64", "3.14")


def test_block_style_and_quotes_and_other_globals() -> None:
    assert target(BLOCK) == ("arm64", "3.13")


def test_the_repository_template_is_readable() -> None:
    architecture, version = target((ROOT / "template.yaml").read_text())
    assert architecture in ("arm64", "x86_64")
    assert version.startswith("3.")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("Resources: {}\n", "no Globals"),
        ("Globals:\n  Api: {}\n", "no Function"),
        ("Globals:\n  Function:\n    Runtime: !Ref Runtime\n", "Runtime"),
        ("Globals:\n  Function:\n    Runtime: nodejs22.x\n", "Runtime"),
        ("Globals:\n  Function:\n    Runtime: python3.13\n", "Architectures"),
        (
            "Globals:\n  Function:\n    Runtime: python3.13\n    Architectures: [arm64, x86_64]\n",
            "Architectures",
        ),
        ("Globals:\n  Function:\n    Runtime: python3.13\n    Architectures: [mips]\n", "mips"),
    ],
)
def test_what_cannot_be_read_is_an_error_naming_it(text: str, complaint: str) -> None:
    with pytest.raises(TargetError, match=complaint):
        target(text)


def test_as_a_script_it_prints_architecture_and_version(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(FLOW)
    script = _target.__file__
    result = subprocess.run(
        [sys.executable, script, str(template)], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout) == (0, "x86_64 3.14\n")
    template.write_text("Globals: {}\n")
    result = subprocess.run(
        [sys.executable, script, str(template)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "cannot tell what the layer is built for" in result.stderr


def test_find_python_finds_this_interpreter_s_version() -> None:
    version = "{}.{}".format(*sys.version_info[:2])
    found = find_python(version)
    assert found is not None
    check = subprocess.run(
        [found, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == str(sys.version_info[:2])


def test_find_python_of_a_version_that_does_not_exist() -> None:
    assert find_python("3.99") is None
